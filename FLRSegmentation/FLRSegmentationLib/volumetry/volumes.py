"""Volumes and FLR % from a segmentation, in the segmentation's own grid (voxel count x voxel volume).

FLR % = FLR / (total liver - CRLM) x 100 (docs/CLINICAL.md section 2); the FLR excludes tumour inside it.
"""

from __future__ import annotations

import numpy as np



def voxel_volume_ml(spacing_xyz) -> float:
    """mm^3 -> mL; the direction matrix is orthonormal, so oblique grids need no correction."""
    return float(np.prod(np.asarray(spacing_xyz, float))) / 1000.0


def measure_masks(liver: np.ndarray, crlm: np.ndarray, flr: np.ndarray, spacing_xyz) -> dict:
    """liver_ml (tumours included), crlm_ml, functional_liver_ml, flr_ml (CRLM excluded) and flr_percent.

    flr_percent is None when there is no functional liver to divide by.
    """
    voxel_ml = voxel_volume_ml(spacing_xyz)
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

