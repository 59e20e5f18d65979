"""Where stage inputs and outputs live between the cascade's stages: in memory, or as files (the naive cascade).

The naive cascade chains stages the way separate command-line runs would: every array is written to a compressed
NIfTI file and every stage reads its inputs back from those files. The files sit in a private temporary folder
(mode 0700) that is removed afterwards, whatever happens. In memory, the inputs a stage resampled for its network
are kept too (`resampled`), for a later stage that needs the same ones.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from .region_prediction import SharedInputs


class StageFiles:
    def __init__(self, in_memory: bool, spacing_zyx):
        self.in_memory = in_memory
        self.spacing_xyz = tuple(float(s) for s in spacing_zyx[::-1])
        self.arrays: dict[str, np.ndarray] = {}
        self.folder: Path | None = None
        self.resampled = SharedInputs() if in_memory else None

    def __enter__(self) -> "StageFiles":
        if not self.in_memory:
            self.folder = Path(tempfile.mkdtemp(prefix="flrseg-stages-"))
        return self

    def __exit__(self, *exc) -> None:
        self.arrays.clear()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def put(self, name: str, array: np.ndarray) -> None:
        if self.in_memory:
            self.arrays[name] = array
            return
        image = sitk.GetImageFromArray(array.astype(np.uint8) if array.dtype == bool else array)
        image.SetSpacing(self.spacing_xyz)
        sitk.WriteImage(image, str(self.folder / f"{name}.nii.gz"), useCompression=True)

    def get(self, name: str) -> np.ndarray:
        if self.in_memory:
            return self.arrays[name]
        array = sitk.GetArrayFromImage(sitk.ReadImage(str(self.folder / f"{name}.nii.gz")))
        return array if array.dtype != np.uint8 else array > 0
