"""resample_window reproduces nnU-Net's own resampling (resample_data_or_seg_to_shape) on any window of the output."""

import numpy as np
import pytest
from nnunetv2.preprocessing.resampling.default_resampling import compute_new_shape, resample_data_or_seg_to_shape

from FLRSegmentationLib.inference.resample_window import Resampling, UnsupportedResampling

DATA = {"is_seg": False, "order": 3, "order_z": 0, "force_separate_z": None}  # nnU-Net's plans for images
PROBABILITIES = {"is_seg": False, "order": 1, "order_z": 0, "force_separate_z": None}  # and for logits
CASES = {
    "thick slices down to a coarse model": ((20, 96, 90), (2.5, 0.7, 0.7), (5.3, 5.1, 4.8), DATA, 0),
    "logits back up to thick slices": ((9, 14, 15), (5.3, 5.1, 4.8), (2.5, 0.7, 0.7), PROBABILITIES, 0),
    "in-plane only": ((20, 96, 90), (2.5, 0.7, 0.7), (2.5, 1.6, 1.6), DATA, 0),
    "near-isotropic, one 3D spline": ((40, 50, 60), (1.0, 0.8, 0.8), (1.5, 1.5, 1.5), DATA, None),
    "near-isotropic logits up": ((30, 40, 40), (1.5, 1.5, 1.5), (1.0, 0.8, 0.8), PROBABILITIES, None),
}
FLOAT32_SUMS = 1e-6  # 16 float32 ulps (6e-8 each) of the largest input value
WINDOWS = (((0.2, 0.7), (0.3, 0.9), (0.1, 0.6)), ((0.0, 1.0), (0.0, 1.0), (0.0, 1.0)), ((0.9, 1.0), (0.0, 0.1), (0.5, 0.55)))


def window_of(shape, fractions):
    return tuple(slice(int(a * n), max(int(a * n) + 1, int(b * n))) for (a, b), n in zip(fractions, shape))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("fractions", WINDOWS)
def test_a_window_equals_the_same_window_of_nnunets_whole_image_resampling(case, fractions):
    shape, spacing, target, kwargs, separate = CASES[case]
    image = (np.random.default_rng(1).normal(size=shape) * 100).astype(np.float32)
    new_shape = tuple(int(n) for n in compute_new_shape(shape, spacing, target))
    whole = resample_data_or_seg_to_shape(image[None], new_shape, spacing, target, **kwargs)[0]

    resampling = Resampling.from_plans(shape, spacing, new_shape, target, kwargs)
    assert resampling.separate_axis == separate
    window = window_of(new_shape, fractions)
    block = resampling.support(window)
    value_range = None
    if kwargs["order"] > 1:  # skimage clips a cubic spline to the range of the slice (or image) it resamples
        axes = None if separate is None else tuple(a for a in range(3) if a != separate)
        value_range = (image.min(axis=axes), image.max(axis=axes))
    got = resampling.window(image[block], [b.start for b in block], window, value_range).astype(np.float32)

    assert got.shape == whole[window].shape
    # separable float32 passes: a few float32 roundings of the image's scale (nnU-Net sums in float64)
    np.testing.assert_allclose(got, whole[window], rtol=0, atol=FLOAT32_SUMS * np.abs(image).max())


def test_equal_grids_are_left_untouched_as_nnunet_does():
    resampling = Resampling.from_plans((10, 20, 30), (1, 1, 1), (10, 20, 30), (1, 1, 1), DATA)
    assert resampling.identity
    block = np.arange(6000, dtype=np.float32).reshape(10, 20, 30)[2:5]
    window = (slice(2, 5), slice(0, 20), slice(0, 30))
    assert resampling.support(window) == window
    assert resampling.window(block, (2, 0, 0), window) is block


def test_interpolation_along_the_thick_axis_is_refused_so_the_caller_uses_nnunet():
    with pytest.raises(UnsupportedResampling):
        Resampling.from_plans((20, 96, 90), (2.5, 0.7, 0.7), (9, 13, 13), (5.3, 5.1, 4.8), dict(DATA, order_z=1))


@pytest.mark.parametrize("case", ["near-isotropic, one 3D spline", "near-isotropic logits up"])
def test_a_3d_spline_computed_in_slabs_and_bands_equals_nnunets_whole_image(case, monkeypatch):
    """Slabs of a few slices and bands of a few output rows give nnU-Net's values all the same."""
    import FLRSegmentationLib.inference.resample_window as resample_window

    monkeypatch.setattr(resample_window, "SLAB", 3)
    monkeypatch.setattr(resample_window, "BAND_ROWS", 5)
    shape, spacing, target, kwargs, _ = CASES[case]
    image = (np.random.default_rng(2).normal(size=shape) * 100).astype(np.float32)
    new_shape = tuple(int(n) for n in compute_new_shape(shape, spacing, target))
    whole = resample_data_or_seg_to_shape(image[None], new_shape, spacing, target, **kwargs)[0]
    resampling = Resampling.from_plans(shape, spacing, new_shape, target, kwargs)
    window = window_of(new_shape, WINDOWS[0])
    block = resampling.support(window)
    value_range = (image.min(), image.max()) if kwargs["order"] > 1 else None
    got = resampling.window(image[block], [b.start for b in block], window, value_range).astype(np.float32)
    np.testing.assert_allclose(got, whole[window], rtol=0, atol=FLOAT32_SUMS * np.abs(image).max())
