"""The one definition of the cascade's stage I/O: label values, channel order, orientation, crop and paste.

Inference (cascade.py) and the dataset tools that prepare training data both call these functions, so a trained
model and the extension can't drift apart. Arrays are numpy in SimpleITK order (z, y, x).

Design (ours; the seed paper does not state it):
- every stage sees the image in the canonical LPS array orientation (a permutation and flips of the input's
  axes, no interpolation), so left and right are the patient's, whatever the acquisition orientation;
- stage 1 (liver) sees the CT; stages 2 (CRLM) and 3 (FLR) see the CT cropped to the liver's bounding box plus
  CROP_MARGIN_MM, with earlier masks as extra channels (0/1, no normalisation) after the CT;
- end-to-end (e2e) sees the CT and predicts nnU-Net regions liver = {1,2,3}, CRLM = {2}, FLR = {3}, which is the
  output label map itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The output label map (the `<case>_seg.nii.gz` file): one value per voxel, Liver contains CRLM and FLR.
LABEL_LIVER = 1  # liver parenchyma outside the FLR and the CRLM
LABEL_CRLM = 2
LABEL_FLR = 3
CROP_MARGIN_MM = 20.0


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


@dataclass(frozen=True)
class Reorientation:
    """Permutation and flips that take an input array (z, y, x) to canonical LPS order, and back, exactly."""

    axes: tuple[int, int, int]  # canonical axis b takes input axis axes[b]
    flips: tuple[bool, bool, bool]  # flip canonical axis b after transposing

    @classmethod
    def from_direction(cls, direction) -> "Reorientation":
        d = np.asarray(direction, float).reshape(3, 3)  # columns: index axes i, j, k in world (LPS)
        world_of_index = np.abs(d).argmax(0)
        if len(set(world_of_index)) != 3:
            raise ValueError("direction matrix is degenerate")
        # numpy axis a is index axis 2 - a; canonical numpy axis b is world axis 2 - b
        axes = tuple(int(2 - np.flatnonzero(world_of_index == 2 - b)[0]) for b in range(3))
        flips = tuple(bool(d[2 - b, 2 - axes[b]] < 0) for b in range(3))
        return cls(axes, flips)

    def forward(self, array: np.ndarray) -> np.ndarray:
        out = np.transpose(array, self.axes)
        return np.ascontiguousarray(np.flip(out, [b for b in range(3) if self.flips[b]]))

    def backward(self, array: np.ndarray) -> np.ndarray:
        out = np.flip(array, [b for b in range(3) if self.flips[b]])
        return np.ascontiguousarray(np.transpose(out, np.argsort(self.axes)))

    def spacing_zyx(self, spacing_xyz) -> tuple[float, float, float]:
        zyx = tuple(float(s) for s in spacing_xyz[::-1])
        return tuple(zyx[a] for a in self.axes)


def crop_box(liver: np.ndarray, spacing_zyx, margin_mm: float = CROP_MARGIN_MM) -> tuple[slice, ...] | None:
    """The liver's bounding box grown by margin_mm on every side, clipped to the image; None for an empty mask."""
    tight = bounding_box(liver)
    if tight is None:
        return None
    box = []
    for axis, b in enumerate(tight):
        pad = int(np.ceil(margin_mm / float(spacing_zyx[axis])))
        box.append(slice(max(0, b.start - pad), min(liver.shape[axis], b.stop + pad)))
    return tuple(box)


def bounding_box(mask: np.ndarray) -> tuple[slice, ...] | None:
    """The smallest box holding every non-zero voxel, None for an empty mask. Projections per axis, not
    np.nonzero: no index arrays of 8 bytes per voxel of the mask."""
    box = []
    for axis in range(mask.ndim):
        hits = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        if hits.size == 0:
            return None
        box.append(slice(int(hits[0]), int(hits[-1]) + 1))
    return tuple(box)


def stage_input(spec: StageSpec, ct: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray:
    """Stack the channels a stage expects, (c, z, y, x) float32: the CT then earlier masks as 0/1."""
    planes = [ct.astype(np.float32, copy=False)]
    for name in spec.channels[1:]:
        planes.append((masks[name] > 0).astype(np.float32))
    return np.stack(planes)


def stage_target(spec: StageSpec, label_map: np.ndarray) -> np.ndarray:
    """The training target of a stage from an output-encoded label map (1 liver, 2 CRLM, 3 FLR)."""
    masks = split_label_map(label_map)
    if spec.name == "e2e":
        return label_map.astype(np.uint8)
    return masks[spec.name].astype(np.uint8)


def split_label_map(label_map: np.ndarray) -> dict[str, np.ndarray]:
    """Overlapping binary masks from the label map: the liver contains CRLM and FLR."""
    return {"liver": label_map > 0, "crlm": label_map == LABEL_CRLM, "flr": label_map == LABEL_FLR}


def combine_masks(liver: np.ndarray, crlm: np.ndarray, flr: np.ndarray) -> np.ndarray:
    """The output label map from the three masks; call after post-processing so CRLM and FLR are disjoint."""
    label_map = np.zeros(liver.shape, np.uint8)
    label_map[liver] = LABEL_LIVER
    label_map[crlm] = LABEL_CRLM
    label_map[flr] = LABEL_FLR
    return label_map


def training_case(spec: StageSpec, ct, label_map) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """A stage's training pair from a CT and its label map (SimpleITK images on one grid), as inference sees it.

    Returns the input (c, z, y, x), the target (z, y, x) and the spacing (z, y, x), all in canonical orientation
    and, for cropped stages, inside the reference liver's box.
    """
    import SimpleITK as sitk  # only here: the rest of this module is numpy

    orient = Reorientation.from_direction(ct.GetDirection())
    spacing = orient.spacing_zyx(ct.GetSpacing())
    ct_array = orient.forward(sitk.GetArrayViewFromImage(ct))
    labels = orient.forward(sitk.GetArrayViewFromImage(label_map))
    if spec.cropped:
        box = crop_box(labels > 0, spacing)
        if box is None:
            raise ValueError("the reference label map has no liver to crop to")
        ct_array, labels = ct_array[box], labels[box]
    image = stage_input(spec, ct_array, split_label_map(labels))
    return image, stage_target(spec, labels), spacing
