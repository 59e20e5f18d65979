"""Read an image's voxels through a checked reader, turning ITK's multi-line errors into one line."""

from __future__ import annotations

import SimpleITK as sitk

from ..errors import InputError

SMALL_INTEGERS = (sitk.sitkInt8, sitk.sitkUInt8, sitk.sitkInt16, sitk.sitkUInt16)


def read_voxels(reader: sitk.ImageReaderBase, what: str, fix: str, keep_integers: bool = False) -> sitk.Image:
    """The reader's image as float32 (or in its own small integers with keep_integers: every value is exact in
    float32, so the stages see the same numbers at half the memory), or one InputError naming `what` could not be
    read and how to `fix` it."""
    try:
        image = reader.Execute()
    except RuntimeError as err:
        raise InputError(f"{what} can't be read (a file is truncated or damaged); {fix}") from err
    if keep_integers and image.GetPixelID() in SMALL_INTEGERS:
        return image
    return sitk.Cast(image, sitk.sitkFloat32)
