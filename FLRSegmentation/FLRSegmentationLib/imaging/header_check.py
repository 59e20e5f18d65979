"""An image header's geometry must be sane before a voxel is used: spacing finite and positive, the direction
orthonormal. ITK quietly repairs some headers (a NaN, infinite or zero NIfTI pixdim becomes 1.0), which would
put volumes off tenfold with no word, so NIfTI's own pixdim is read here too.
"""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import numpy as np

from ..errors import InputError

ORTHONORMAL_TOLERANCE = 1e-3  # writers round direction cosines to a few digits
NIFTI1_PIXDIM = 76  # byte offset of pixdim[8] (float32) in a NIfTI-1 header; NIfTI-2: 104 (float64)
NIFTI2_PIXDIM = 104


def check_geometry(spacing, direction, where: str) -> None:
    """Refuse a non-finite or non-positive spacing and a direction matrix that is not a rotation (or reflection)."""
    spacing = np.asarray(spacing, float)
    if not np.all(np.isfinite(spacing)) or not np.all(spacing > 0):
        raise InputError(f"{where}: the header's voxel spacing {_numbers(spacing)} mm is not finite and positive; "
                         f"fix the header (or export the image again) with the true spacing")
    d = len(spacing)
    matrix = np.asarray(direction, float).reshape(d, d)
    if not np.all(np.isfinite(matrix)) or np.abs(matrix.T @ matrix - np.eye(d)).max() > ORTHONORMAL_TOLERANCE:
        raise InputError(f"{where}: the header's direction {_numbers(matrix.ravel())} is not orthonormal (a sheared "
                         f"or damaged grid); resample the image to an orthogonal grid first")


def check_nifti_pixdim(path: Path) -> None:
    """NIfTI pixdim[1..3] as stored, before ITK replaces a bad one with 1.0."""
    try:
        with open(path, "rb") as raw:
            opener = gzip.open if raw.read(2) == b"\x1f\x8b" else open
        with opener(path, "rb") as f:
            header = f.read(NIFTI2_PIXDIM + 64)
    except (OSError, EOFError):
        return  # ITK's own read reports a damaged file
    for endian in "<>":
        if len(header) >= 4 and struct.unpack(endian + "i", header[:4])[0] == 348:
            pixdim = struct.unpack(endian + "8f", header[NIFTI1_PIXDIM:NIFTI1_PIXDIM + 32])
            break
        if len(header) >= NIFTI2_PIXDIM + 64 and struct.unpack(endian + "i", header[:4])[0] == 540:
            pixdim = struct.unpack(endian + "8d", header[NIFTI2_PIXDIM:NIFTI2_PIXDIM + 64])
            break
    else:
        return
    spacing = pixdim[1:4]
    if not all(math.isfinite(s) and s > 0 for s in spacing):
        raise InputError(f"{path}: the NIfTI header's pixdim {_numbers(spacing)} is not finite and positive "
                         f"(readers would silently use 1 mm); fix the header with the true voxel spacing")


def _numbers(values) -> str:
    return "[" + ", ".join(f"{float(v):g}" for v in values) + "]"
