"""Explicit post-processing rules applied to the stage outputs, each switchable (documented in the README).

1. largest_liver_component: keep only the largest 3D-connected liver component (26-neighbourhood), dropping
   liver-like islands such as the spleen; the cascade applies it before cropping to the liver too.
2. crlm_inside_liver: CRLM voxels outside the liver are removed (the liver includes its tumours).
3. flr_inside_liver: FLR voxels outside the liver are removed.
4. flr_excludes_crlm: tumour is never counted as remnant, so FLR voxels that are CRLM are removed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

from .stage_io import bounding_box


@dataclass(frozen=True)
class PostprocessRules:
    largest_liver_component: bool = True
    crlm_inside_liver: bool = True
    flr_inside_liver: bool = True
    flr_excludes_crlm: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


def largest_component(mask: np.ndarray) -> np.ndarray:
    """Labelled inside the mask's bounding box only: the int32 labels cost the box, not the image."""
    box = bounding_box(mask)
    if box is None:
        return mask.astype(bool, copy=False)
    labels, count = ndimage.label(mask[box], structure=np.ones((3, 3, 3), bool))
    if count <= 1:
        return mask.astype(bool, copy=False)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    largest = np.zeros(mask.shape, bool)
    largest[box] = labels == sizes.argmax()
    return largest


def apply_rules(liver: np.ndarray, crlm: np.ndarray, flr: np.ndarray,
                rules: PostprocessRules) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three masks after the enabled rules, in the order listed in this module's docstring."""
    if rules.largest_liver_component:
        liver = largest_component(liver)
    if rules.crlm_inside_liver:
        crlm = crlm & liver
    if rules.flr_inside_liver:
        flr = flr & liver
    if rules.flr_excludes_crlm:
        flr = flr & ~crlm
    return liver, crlm, flr
