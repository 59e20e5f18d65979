"""The cascade's stages and strategies: each stage's input channels and nnU-Net labels, and which stages a
strategy runs. Model packages, dataset tools, training and inference all read this one table.

Stage 1 (liver) sees the CT; stages 2 (CRLM) and 3 (FLR) see the CT cropped to the liver box with earlier masks as
extra channels after the CT; end-to-end (e2e) sees the CT and predicts nnU-Net regions liver = {1,2,3}, CRLM = {2},
FLR = {3}, which is the output label map itself (labels.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from .labels import LABEL_CRLM, LABEL_FLR, LABEL_LIVER


@dataclass(frozen=True)
class StageSpec:
    name: str
    channels: tuple[str, ...]  # input channels in order; "CT" first, then earlier masks
    labels: dict  # nnU-Net dataset.json "labels"
    regions_class_order: tuple[int, ...] | None = None
    cropped: bool = False  # runs inside the liver box

    def channel_names(self) -> dict[str, str]:
        """dataset.json channel_names: CT normalisation for the CT, none for masks."""
        return {str(i): ("CT" if c == "CT" else "noNorm") for i, c in enumerate(self.channels)}


STAGES = {
    "liver": StageSpec("liver", ("CT",), {"background": 0, "liver": 1}),
    "crlm": StageSpec("crlm", ("CT", "liver"), {"background": 0, "crlm": 1}, cropped=True),
    "flr": StageSpec("flr", ("CT", "liver", "crlm"), {"background": 0, "flr": 1}, cropped=True),
    "e2e": StageSpec("e2e", ("CT",), {"background": 0, "liver": [1, 2, 3], "crlm": [2], "flr": [3]},
                     regions_class_order=(LABEL_LIVER, LABEL_CRLM, LABEL_FLR)),
}
STRATEGIES = {"cascade": ("liver", "crlm", "flr"), "e2e": ("e2e",)}
