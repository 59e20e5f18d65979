"""The output label map's values and the masks it holds: the one encoding that engine, volumetry, dataset tools and
phantoms share (the `<case>_seg.nii.gz` file). One value per voxel; the liver contains CRLM and FLR.
"""

from __future__ import annotations

import numpy as np

LABEL_LIVER = 1  # liver parenchyma outside the FLR and the CRLM
LABEL_CRLM = 2
LABEL_FLR = 3


def split_label_map(label_map: np.ndarray) -> dict[str, np.ndarray]:
    """Overlapping binary masks from the label map: the liver contains CRLM and FLR."""
    return {"liver": label_map > 0, "crlm": label_map == LABEL_CRLM, "flr": label_map == LABEL_FLR}


def combine_masks(liver: np.ndarray, crlm: np.ndarray, flr: np.ndarray) -> np.ndarray:
    """The output label map from the three masks; call after post-processing so CRLM and FLR are disjoint."""
    label_map = np.zeros(liver.shape, np.uint8)
    label_map[liver] = LABEL_LIVER
    label_map[crlm] = LABEL_CRLM
    label_map[flr] = LABEL_FLR
    return label_map
