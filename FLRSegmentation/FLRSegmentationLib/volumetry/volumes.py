"""Volumes and FLR % from a segmentation, in the segmentation's own grid (voxel count x voxel volume).

FLR % = FLR / (total liver - CRLM) x 100 (docs/CLINICAL.md section 2); the FLR excludes tumour inside it.
"""

from __future__ import annotations

import numpy as np



def voxel_volume_ml(spacing_xyz, direction=None) -> float:
    """mm^3 -> mL: |det(direction x diag(spacing))|, the product of the spacings on an orthonormal grid, less on
    a sheared one (a .seg.nrrd's space directions may be sheared)."""
    spacing = np.asarray(spacing_xyz, float)
    if direction is None:
        return float(np.prod(spacing)) / 1000.0
    axes = np.asarray(direction, float).reshape(len(spacing), len(spacing)) * spacing  # column i: axis i in mm
    return float(abs(np.linalg.det(axes))) / 1000.0


def measure_masks(liver: np.ndarray, crlm: np.ndarray, flr: np.ndarray, spacing_xyz, direction=None) -> dict:
    """liver_ml (tumours included), crlm_ml, functional_liver_ml, flr_ml (CRLM excluded) and flr_percent.

    flr_percent is None when there is no functional liver to divide by.
    """
    voxel_ml = voxel_volume_ml(spacing_xyz, direction)
    liver_ml = int(np.count_nonzero(liver)) * voxel_ml
    crlm_ml = int(np.count_nonzero(crlm & liver)) * voxel_ml
    flr_ml = int(np.count_nonzero(flr & liver & ~crlm)) * voxel_ml
    functional_ml = liver_ml - crlm_ml
    return {
        "liver_ml": round(liver_ml, 3),
        "crlm_ml": round(crlm_ml, 3),
        "functional_liver_ml": round(functional_ml, 3),
        "flr_ml": round(flr_ml, 3),
        "flr_percent": round(100.0 * flr_ml / functional_ml, 3) if functional_ml > 0 else None,
    }

