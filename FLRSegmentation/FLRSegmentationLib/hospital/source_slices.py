"""The CT slices a label map was segmented on, as pydicom headers in the label map's slice order.

The DICOM objects we write point at each source instance frame by frame, so each label map slice must be matched
to the file it came from: by its position in space (the grid the engine read), never by file name or order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk

from ..errors import InputError
from ..imaging.dicom_series import scan_folder, select_acquisition

# A slice position may differ from the grid's by this fraction of the slice step (writers round positions).
POSITION_TOLERANCE = 0.01


def source_slices(folder: Path, ct: sitk.Image) -> list[pydicom.Dataset]:
    """The headers (no pixel data) of the CT files in `folder`, one per slice of `ct`, in index order."""
    slices = select_acquisition(scan_folder(folder).ct)
    positions = np.array([s.position for s in slices])
    step = ct.GetSpacing()[2]
    ordered = []
    for k in range(ct.GetSize()[2]):
        point = np.array(ct.TransformIndexToPhysicalPoint((0, 0, k)))
        distances = np.linalg.norm(positions - point, axis=1)
        nearest = int(np.argmin(distances))
        if distances[nearest] > POSITION_TOLERANCE * step + 1e-3:
            raise InputError(f"{folder}: no CT file lies at slice {k + 1} of the series read; "
                             f"give the folder of one complete DICOM CT series")
        ordered.append(pydicom.dcmread(slices[nearest].path, stop_before_pixels=True))
    return ordered
