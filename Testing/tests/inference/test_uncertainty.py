"""The uncertain voxels come from the networks' own probabilities near boundaries: they equal nnU-Net's
probabilities interpolated everywhere, and the FLR % range they imply holds the FLR % and widens with blur."""

import numpy as np
import pytest
import SimpleITK as sitk
from nnunetv2.preprocessing.resampling.default_resampling import resample_data_or_seg_to_shape
from scipy import ndimage

from FLRSegmentationLib.inference.label_upsampling import LabelUpsampling
from FLRSegmentationLib.inference.resample_window import Resampling
from FLRSegmentationLib.inference.segment_run import SegmentOptions, segment
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.volumetry.uncertainty import UNCERTAIN_BELOW
from nnunetv2.utilities.label_handling.label_handling import LabelManager

from FLRSegmentationLib.inference.stage_predictor import RegionBits

PROBABILITIES = {"is_seg": False, "order": 1, "order_z": 0, "force_separate_z": None}  # nnU-Net's default
GRIDS = {  # network shape and spacing -> image shape and spacing (z, y, x), as in test_label_upsampling
    "thick slices: nearest along z": ((9, 14, 15), (5.0, 5.0, 5.0), (30, 70, 75), (2.5, 1.0, 1.0)),
    "near-isotropic: one linear 3D": ((12, 14, 15), (1.5, 1.5, 1.5), (18, 26, 28), (1.0, 0.8, 0.8)),
}
MANAGERS = {
    "argmax of 3 classes": lambda: LabelManager({"background": 0, "a": 1, "b": 2}, None),
    "overlapping regions": lambda: RegionBits({"background": 0, "liver": [1, 2, 3], "crlm": [2], "flr": [3]},
                                              [1, 2, 3]),
}


def smooth_logits(shape, channels, seed):
    noise = np.random.default_rng(seed).normal(size=(channels, *shape))
    return np.stack([ndimage.gaussian_filter(n, 1.5) * 40 for n in noise]).astype(np.float16)


def exact_uncertain_bits(whole: np.ndarray, has_regions: bool) -> tuple[np.ndarray, np.ndarray]:
    """Bits from the probabilities of every voxel, and where a probability is too close to the level to call."""
    values = whole.astype(np.float64)
    if has_regions:
        p = 1 / (1 + np.exp(-values))
        winning = np.maximum(p, 1 - p)
        bits = sum(((winning[i] < UNCERTAIN_BELOW).astype(np.uint8) << i) for i in range(len(values)))
        return bits.astype(np.uint8), (np.abs(winning - UNCERTAIN_BELOW) < 1e-6).any(0)
    e = np.exp(values - values.max(0))
    winning = e.max(0) / e.sum(0)
    return (winning < UNCERTAIN_BELOW).astype(np.uint8), np.abs(winning - UNCERTAIN_BELOW) < 1e-6


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize("kind", MANAGERS)
def test_uncertain_voxels_equal_the_probabilities_interpolated_everywhere(grid, kind):
    net_shape, net_spacing, image_shape, image_spacing = GRIDS[grid]
    manager = MANAGERS[kind]()
    logits = smooth_logits(net_shape, 3, seed=3 + len(grid) + len(kind))
    whole = resample_data_or_seg_to_shape(logits.astype(np.float32), image_shape, net_spacing, image_spacing,
                                          **PROBABILITIES)
    expected, too_close = exact_uncertain_bits(whole, manager.has_regions)
    up = Resampling.from_plans(net_shape, net_spacing, image_shape, image_spacing, PROBABILITIES)
    _, uncertain = LabelUpsampling(logits, up, [0, 0, 0], manager).labels_and_uncertainty(
        tuple(slice(0, n) for n in image_shape))
    assert np.array_equal(uncertain[~too_close], expected[~too_close])
    assert 0.02 < (expected > 0).mean() < 0.9  # boundaries with uncertain voxels, and sure voxels too


def segmented(tmp_path, ct, name, demo_package):
    path = tmp_path / f"{name}.nrrd"
    sitk.WriteImage(ct, str(path))
    report, = segment([path], tmp_path / name, SegmentOptions(model=str(demo_package), device="cpu"))
    return report


def test_flr_percent_range_holds_the_flr_percent_and_widens_with_blur(tmp_path, demo_package):
    ct, _ = make_phantom(9004)
    sharp = segmented(tmp_path, ct, "sharp", demo_package)
    array = sitk.GetArrayFromImage(ct).astype(np.float32)
    blurred_image = sitk.GetImageFromArray(ndimage.gaussian_filter(array, 2.5))
    blurred_image.CopyInformation(ct)
    blurred = segmented(tmp_path, blurred_image, "blurred", demo_package)
    widths = []
    for report in (sharp, blurred):
        low, high = report["flr_percent_range"]
        assert low <= report["flr_percent"] <= high
        assert set(report["uncertain_ml"]) == {"liver", "crlm", "flr"}
        assert report["uncertain_below_probability"] == UNCERTAIN_BELOW
        widths.append(high - low)
    print("FLR % range widths, sharp and blurred:", widths, sharp["uncertain_ml"], blurred["uncertain_ml"])
    assert 0 < widths[0] < widths[1]
    assert sum(blurred["uncertain_ml"].values()) > sum(sharp["uncertain_ml"].values())
