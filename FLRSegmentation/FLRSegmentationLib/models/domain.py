"""What a model was trained on, as its package's manifest declares it, and the warnings for an input outside it.

manifest `domain` (every key optional):
  images: words for the training images ("synthetic phantoms", "portal-venous CT of adults with CRLM")
  spacing_mm: {"min": a, "max": b}: every voxel spacing of the training images lay in [a, b] mm (any axis)
  hu_range: [low, high]: the training images' intensities; an input with more than HU_OUTSIDE_FRACTION of its
            voxels outside it warns (bone, metal or contrast brighter than the networks ever saw)
  phase, age_group: words, shown with the warning; an image file carries neither, so they are not compared
A network's output outside its training domain is not validated: the warning names each difference found.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

OUT_OF_MODEL_DOMAIN = "out_of_model_domain"  # volumetry.result_warnings lists it with the other codes
HU_OUTSIDE_FRACTION = 0.001
SAMPLE_STEP = 7  # every 7th voxel estimates the intensity fractions: enough, and fast on a 512 x 512 x 600 CT


def domain_differences(domain: dict | None, ct: sitk.Image) -> list[str]:
    """How the CT differs from the declared domain, one phrase each; [] when it fits or nothing is declared."""
    if not domain:
        return []
    found = []
    spacing = domain.get("spacing_mm")
    if spacing:
        low, high = float(spacing["min"]), float(spacing["max"])
        outside = [s for s in ct.GetSpacing() if not low <= s <= high]
        if outside:
            found.append(f"voxel spacing {' x '.join(f'{s:.2f}' for s in ct.GetSpacing())} mm, the model was "
                         f"trained on {low:g}-{high:g} mm")
    hu = domain.get("hu_range")
    if hu:
        sample = sitk.GetArrayViewFromImage(ct).ravel()[::SAMPLE_STEP]
        fraction = float(np.count_nonzero((sample < hu[0]) | (sample > hu[1]))) / max(sample.size, 1)
        if fraction > HU_OUTSIDE_FRACTION:
            found.append(f"{100 * fraction:.2f} % of the voxels outside the {hu[0]:g} to {hu[1]:g} HU the model "
                         f"was trained on")
    return found


def domain_warnings(domain: dict | None, ct: sitk.Image) -> list[dict]:
    """One out_of_model_domain warning naming every difference, or []."""
    differences = domain_differences(domain, ct)
    if not differences:
        return []
    trained = ", ".join(f"{key.replace('_', ' ')}: {domain[key]}" for key in ("images", "phase", "age_group")
                        if domain.get(key))
    return [{"code": OUT_OF_MODEL_DOMAIN,
             "message": f"the input lies outside the model's training domain ({trained}): {'; '.join(differences)}; "
                        "its output there is not validated"}]
