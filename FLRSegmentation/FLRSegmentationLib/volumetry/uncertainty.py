"""How far the FLR % could move if the networks' unsure voxels went the other way (docs/CLINICAL.md section 9).

The engine marks, per structure, the voxels whose winning probability is below UNCERTAIN_BELOW (the networks' own
softmax or sigmoid, computed near the label boundaries only: inference/label_upsampling.py). From them:
- `uncertain_ml`: per structure (liver, crlm, flr), the volume of its stage's uncertain voxels;
- `flr_ml_range` / `flr_percent_range`: the FLR with every uncertain voxel of the remnant (in any stage) counted
  out, and with every uncertain FLR-stage voxel of the functional liver counted in, over the functional liver as
  measured. The range always holds the FLR %; verdict_checks.py withholds a verdict it straddles.
0.8 is the software's own level (no source): four to one odds for the winning label.
"""

from __future__ import annotations

import numpy as np

from .volumes import voxel_volume_ml

UNCERTAIN_BELOW = 0.8
STRUCTURES = ("liver", "crlm", "flr")


def uncertainty_fields(masks: dict, uncertain: dict | None, spacing_xyz) -> dict:
    """The fields above from the final masks (bool) and each structure's uncertain voxels (nonzero; None: not
    available). The range is counted inside the liver's bounding box only, so no whole-image mask is made."""
    if uncertain is None:
        return {"uncertain_below_probability": UNCERTAIN_BELOW, "uncertain_ml": None, "flr_ml_range": None,
                "flr_percent_range": None}
    voxel_ml = voxel_volume_ml(spacing_xyz)
    box = _bounding_box(masks["liver"])
    functional = masks["liver"][box] & ~masks["crlm"][box]
    remnant = masks["flr"][box] & functional
    unsure_any = np.zeros_like(functional)
    for key in STRUCTURES:
        unsure_any |= uncertain[key][box] != 0
    flr = int(np.count_nonzero(remnant))
    out = int(np.count_nonzero(remnant & unsure_any))
    extra = int(np.count_nonzero(functional & ~remnant & (uncertain["flr"][box] != 0)))
    denominator = int(np.count_nonzero(functional))
    return {
        "uncertain_below_probability": UNCERTAIN_BELOW,
        "uncertain_ml": {key: round(int(np.count_nonzero(uncertain[key])) * voxel_ml, 3) for key in STRUCTURES},
        "flr_ml_range": [round((flr - out) * voxel_ml, 3), round((flr + extra) * voxel_ml, 3)],
        "flr_percent_range": ([round(100.0 * (flr - out) / denominator, 3),
                               round(100.0 * (flr + extra) / denominator, 3)] if denominator else None),
    }


def _bounding_box(mask: np.ndarray) -> tuple[slice, ...]:
    """The mask's bounding box (an empty box for an empty mask)."""
    if not mask.any():
        return (slice(0, 0),) * mask.ndim
    bounds = []
    for axis in range(mask.ndim):
        hits = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        bounds.append(slice(int(hits[0]), int(hits[-1]) + 1))
    return tuple(bounds)
