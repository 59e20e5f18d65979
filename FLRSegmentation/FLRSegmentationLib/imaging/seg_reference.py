"""The grid a `.seg.nrrd` was made on: Slicer's "Reference image geometry" conversion parameter.

Slicer crops the labelmap it saves to the segments' extent, so the file's own grid is not the scanned one; the
conversion parameter keeps the reference volume's IJK-to-RAS matrix and extent
("m00;m01;...;m33;i0;i1;j0;j1;k0;k1;"), and it survives a load and save in Slicer.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from .seg_nrrd import LPS_TO_RAS, REFERENCE_GEOMETRY_PARAMETER

CONVERSION_PARAMETERS = "Segmentation_ConversionParameters"


def parse_image_geometry(text: str) -> tuple[np.ndarray, tuple[int, ...]] | None:
    """(IJK-to-RAS 4 x 4, extent) from Slicer's serialized geometry, or None when it holds none."""
    values = [v for v in text.strip().split(";") if v.strip()]
    if len(values) != 22:
        return None
    try:
        matrix = np.array([float(v) for v in values[:16]]).reshape(4, 4)
        extent = tuple(int(float(v)) for v in values[16:])
    except ValueError:
        return None
    if not np.all(np.isfinite(matrix)) or abs(np.linalg.det(matrix[:3, :3])) < 1e-12 or any(
            extent[2 * a + 1] < extent[2 * a] for a in range(3)):
        return None
    return matrix, extent


def conversion_parameter(header: dict, name: str) -> str | None:
    """One value of the `name|value|description&...` list Slicer writes."""
    for item in str(header.get(CONVERSION_PARAMETERS, "")).split("&"):
        parts = item.split("|")
        if len(parts) >= 2 and parts[0] == name:
            return parts[1]
    return None


def reference_geometry(path) -> tuple[np.ndarray, tuple[int, ...]] | None:
    """The scanned grid a `.seg.nrrd` records (IJK-to-RAS, extent), or None when it records none."""
    import nrrd  # as in seg_nrrd: Slicer does not ship pynrrd

    header = nrrd.read_header(str(path))
    text = conversion_parameter(header, REFERENCE_GEOMETRY_PARAMETER)
    return None if text is None else parse_image_geometry(text)


def index_to_ras(image: sitk.Image) -> np.ndarray:
    """An image's IJK-to-RAS matrix (SimpleITK geometry is LPS)."""
    matrix = np.eye(4)
    direction = np.array(image.GetDirection(), float).reshape(3, 3)
    matrix[:3, :3] = LPS_TO_RAS @ direction @ np.diag(image.GetSpacing())
    matrix[:3, 3] = LPS_TO_RAS @ np.array(image.GetOrigin(), float)
    return matrix
