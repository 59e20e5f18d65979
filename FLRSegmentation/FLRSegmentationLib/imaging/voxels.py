"""Read an image's voxels through a checked reader, turning ITK's multi-line errors into one line."""

from __future__ import annotations

import SimpleITK as sitk

from ..errors import InputError


def read_voxels(reader: sitk.ImageReaderBase, what: str, fix: str) -> sitk.Image:
    """The reader's image as float32, or one InputError naming `what` could not be read and how to `fix` it."""
    try:
        image = reader.Execute()
    except RuntimeError as err:
        raise InputError(f"{what} can't be read (a file is truncated or damaged); {fix}") from err
    return sitk.Cast(image, sitk.sitkFloat32)
