"""Which model made a segmentation, kept inside its `.seg.nrrd` so every later report knows, even after edits.

Slicer drops custom NRRD header fields when it saves a segmentation again, but keeps each segment's tags
(`SegmentN_Tags`, key:value|...; checked with slicer-core's storage node in the tests), so the provenance is a
JSON tag on every segment. It holds the model (id, version, demo flag, label), the strategy, the input's name and
grid, the engine version, the time, and a signature of each segment's mask: a segment whose mask no longer matches
was edited after the model made it. The signature hashes the mask cropped to its bounding box together with that
box's position in space and the grid's axes, so it is the same for the file Slicer writes back (Slicer crops
labelmaps to their extent and may pack segments into other layers) and changes with any voxel painted or erased.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import numpy as np

PROVENANCE_TAG = "FLRSegmentation.Provenance"
LPS_TO_RAS_4 = np.diag([-1.0, -1.0, 1.0, 1.0])


def index_to_lps(image) -> np.ndarray:
    """The 4 x 4 matrix from (x, y, z) voxel index to LPS mm of a SimpleITK image."""
    matrix = np.eye(4)
    matrix[:3, :3] = np.array(image.GetDirection(), float).reshape(3, 3) @ np.diag(image.GetSpacing())
    matrix[:3, 3] = image.GetOrigin()
    return matrix


def mask_signature(mask: np.ndarray, ijk_to_lps: np.ndarray) -> str:
    """sha256 (first 16 hex digits) of a bool mask (z, y, x) cropped to its box, with the box's corner in LPS mm
    and the voxel axes (both rounded to 0.01 mm); "empty" for an empty mask."""
    if not mask.any():
        return "empty"
    hits = [np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)]
    low, high = [int(h[0]) for h in hits], [int(h[-1]) + 1 for h in hits]
    crop = mask[low[0]:high[0], low[1]:high[1], low[2]:high[2]]
    corner = ijk_to_lps @ np.array([low[2], low[1], low[0], 1.0])
    geometry = np.round(np.concatenate([corner[:3], ijk_to_lps[:3, :3].ravel()]), 2) + 0.0  # no "-0.0"
    digest = hashlib.sha256()
    digest.update(json.dumps([list(crop.shape), geometry.tolist()]).encode())
    digest.update(np.packbits(crop).tobytes())
    return digest.hexdigest()[:16]


def segmentation_provenance(model: dict, strategy: str, input_name: str, grid, engine_version: str,
                            study: dict | None = None) -> dict:
    """The provenance of a new segmentation, without the segment signatures (write_seg_nrrd adds them); study:
    the DICOM patient, study and series fields (imaging/dicom_study.py) of a DICOM input."""
    return {"model": {key: model.get(key) for key in ("id", "version", "demo", "label")},
            "strategy": strategy,
            "input": {"name": input_name, "size": list(grid.GetSize()), "spacing": list(grid.GetSpacing()),
                      "origin": list(grid.GetOrigin()), "direction": list(grid.GetDirection()),
                      **({"study": study} if study else {})},
            "engine": {"flrseg": engine_version},
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def tag_text(provenance: dict) -> str:
    """The provenance as a tag value: JSON without '|' (which ends a tag in the file) and without backslashes
    (Slicer doubles them when it saves the file again, so no JSON escape would survive): in the strings '|' and
    '\\' become '/', '"' becomes "'" and a character outside printable ASCII becomes '?'."""
    return json.dumps(_plain(provenance), separators=(",", ":"))


def _plain(value):
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        text = value.replace("|", "/").replace("\\", "/").replace('"', "'")
        return "".join(c if " " <= c <= "~" else "?" for c in text)
    return value


def parse_tag(text: str | None) -> dict | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) and isinstance(value.get("model"), dict) else None


def provenance_from_header(header: dict) -> dict | None:
    """The provenance tag of the first segment that has one in a `.seg.nrrd` header, or None."""
    index = 0
    while f"Segment{index}_ID" in header:
        for item in header.get(f"Segment{index}_Tags", "").split("|"):
            key, _, value = item.partition(":")
            if key == PROVENANCE_TAG:
                return parse_tag(value)
        index += 1
    return None


def file_provenance(path) -> dict | None:
    """The provenance in a `.seg.nrrd`'s header (without the edit state, which needs the voxels), or None for any
    other file or one without it."""
    import nrrd

    if not str(path).lower().endswith((".seg.nrrd", ".nrrd", ".nhdr")):
        return None
    try:
        return provenance_from_header(nrrd.read_header(str(path)))
    except (nrrd.NRRDError, OSError, ValueError):
        return None  # the command's own reading reports what is wrong with the file


def with_edit_state(provenance: dict | None, signatures: dict[str, str]) -> dict | None:
    """The provenance with `edited` (and the segments that changed) from the masks' current signatures."""
    if provenance is None:
        return None
    recorded = provenance.get("segments") or {}
    changed = sorted(name for name in set(recorded) | set(signatures)
                     if recorded.get(name) != signatures.get(name))
    return {**provenance, "edited": bool(changed), "edited_segments": changed}


def provenance_text(provenance: dict | None) -> str:
    """One line for a report: the model, "edited after" it when edited, and the clinical-use mark of a demo."""
    if provenance is None:
        return "not recorded (the segmentation was measured as given)"
    model = provenance["model"]
    name = model.get("label") or model.get("id") or "an unknown model"
    text = f"edited after {name}" if provenance.get("edited") else name
    return text + ("; NOT FOR CLINICAL USE" if model.get("demo") else "")


def report_model(provenance: dict | None) -> dict | None:
    """The model as a report names it: its fields, with the label saying "edited after" and NOT FOR CLINICAL USE."""
    if provenance is None:
        return None
    return {**provenance["model"], "label": provenance_text(provenance), "edited": bool(provenance.get("edited"))}
