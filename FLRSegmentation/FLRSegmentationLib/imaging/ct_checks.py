"""Is the image a CT in Hounsfield units the networks can read? Checked on the voxels, before any network runs.

- Every voxel finite: a NaN or an infinity (a damaged or badly converted file) spreads through the networks'
  normalisation and convolutions, so no output would mean anything. ITK's NIfTI reader turns NaN into 0
  silently, so a floating-point NIfTI is checked on its stored values too (nibabel; an integer file can't hold
  NaN, so a usual int16 CT costs nothing more).
- Some voxel below AIR_BELOW_HU: a body CT always holds air (around the body, in the lungs or the bowel) at about
  -1000 HU. An image without any is not in HU: an MR, or a CT whose rescale was not applied. (A DICOM series
  whose Modality is not CT is refused when the folder is read: ct_input._ct_series.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..errors import InputError

AIR_BELOW_HU = -500.0


def check_ct_values(image: sitk.Image, path: Path) -> sitk.Image:
    """The image unchanged, or a one-line InputError naming what was found and what is needed."""
    voxels = _stored_nifti_floats(Path(path))
    if voxels is None:
        voxels = sitk.GetArrayViewFromImage(image)
    finite = np.isfinite(voxels)
    if not finite.all():
        nan = int(np.isnan(voxels).sum())
        infinite = voxels.size - int(finite.sum()) - nan
        raise InputError(f"{path}: {nan} NaN and {infinite} infinite voxel value(s); a CT holds finite HU values "
                         f"in every voxel: convert or export the CT again")
    lowest = float(sitk.GetArrayViewFromImage(image).min())
    if lowest >= AIR_BELOW_HU:
        raise InputError(f"{path}: no voxel below {AIR_BELOW_HU:g} (the lowest is {lowest:g}), but a body CT in "
                         f"Hounsfield units always holds air at about -1000 HU: this looks like an MR or a CT "
                         f"without its HU rescale; give a CT in Hounsfield units")
    return image


def _stored_nifti_floats(path: Path) -> np.ndarray | None:
    """A floating-point NIfTI file's values as stored (NaN kept), or None for any other file."""
    if not path.name.lower().endswith((".nii", ".nii.gz")):
        return None
    import nibabel  # an nnunetv2 dependency; only NIfTI inputs need it

    nifti = nibabel.load(str(path))
    if nifti.header.get_data_dtype().kind != "f":
        return None
    return np.asanyarray(nifti.dataobj)
