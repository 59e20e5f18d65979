"""Labels interpolated only near boundaries equal nnU-Net's export, which interpolates every class everywhere."""

import numpy as np
import pytest
from nnunetv2.preprocessing.resampling.default_resampling import resample_data_or_seg_to_shape
from nnunetv2.utilities.label_handling.label_handling import LabelManager
from scipy import ndimage

from FLRSegmentationLib.inference.label_upsampling import LabelUpsampling, decided_labels
from FLRSegmentationLib.inference.resample_window import Resampling
from FLRSegmentationLib.inference.stage_predictor import RegionBits

PROBABILITIES = {"is_seg": False, "order": 1, "order_z": 0, "force_separate_z": None}  # nnU-Net's default
GRIDS = {  # network shape and spacing -> image shape and spacing (z, y, x)
    "thick slices: nearest along z": ((9, 14, 15), (5.0, 5.0, 5.0), (30, 70, 75), (2.5, 1.0, 1.0)),
    "near-isotropic: one linear 3D": ((12, 14, 15), (1.5, 1.5, 1.5), (18, 26, 28), (1.0, 0.8, 0.8)),
}
MANAGERS = {
    "argmax of 3 classes": lambda: LabelManager({"background": 0, "a": 1, "b": 2}, None),
    "overlapping regions": lambda: RegionBits({"background": 0, "liver": [1, 2, 3], "crlm": [2], "flr": [3]},
                                              [1, 2, 3]),
}


def smooth_logits(shape, channels, seed):
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(channels, *shape))
    return np.stack([ndimage.gaussian_filter(n, 1.5) * 40 for n in noise]).astype(np.float16)


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize("kind", MANAGERS)
def test_labels_equal_nnunets_export_on_every_voxel(grid, kind):
    net_shape, net_spacing, image_shape, image_spacing = GRIDS[grid]
    manager = MANAGERS[kind]()
    logits = smooth_logits(net_shape, 3, seed=len(grid) + len(kind))
    logits[:, 3:5] = 0.001  # a slab the label can't be read from without interpolating
    whole = resample_data_or_seg_to_shape(logits.astype(np.float32), image_shape, net_spacing, image_spacing,
                                          **PROBABILITIES).astype(np.float16)
    expected = manager.convert_logits_to_segmentation(whole if manager.has_regions else whole.astype(np.float32))

    up = Resampling.from_plans(net_shape, net_spacing, image_shape, image_spacing, PROBABILITIES)
    upsampling = LabelUpsampling(logits, up, [0, 0, 0], manager)
    everything = tuple(slice(0, n) for n in image_shape)
    assert np.array_equal(upsampling.labels(everything), expected)
    window = (slice(3, 15), slice(5, 20), slice(0, 9))
    assert np.array_equal(upsampling.labels(window), expected[window])
    undecided = (decided_labels(logits, manager.has_regions) < 0).mean()
    assert 0.1 < undecided < 0.6  # the test has boundaries, and most of the volume is still read off the network
