"""A CT stored in small integers stays in them through the engine (half the memory of float32, no whole float32
copy) and gives the labels of the same CT read as float32."""

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from FLRSegmentationLib.imaging.ct_input import read_ct
from FLRSegmentationLib.inference.engine import SegmentationEngine, keeps_own_type
from FLRSegmentationLib.inference.liver_locator import bin_mean
from FLRSegmentationLib.inference.speed_options import SpeedOptions
from FLRSegmentationLib.models.packages import open_package
from FLRSegmentationLib.research.phantom import make_phantom

UNSEEN = 9006  # the demo models were trained on seeds 1000-1015


@pytest.fixture(scope="module")
def phantom():
    ct, _ = make_phantom(UNSEEN)
    assert ct.GetPixelID() == sitk.sitkInt16  # as CTs are stored
    return ct


def test_read_ct_keeps_small_integers_only_when_asked(phantom, tmp_path):
    sitk.WriteImage(phantom, str(tmp_path / "ct.nii.gz"))
    assert read_ct(tmp_path / "ct.nii.gz").GetPixelID() == sitk.sitkFloat32
    kept = read_ct(tmp_path / "ct.nii.gz", keep_integers=True)
    assert kept.GetPixelID() == sitk.sitkInt16
    assert np.array_equal(sitk.GetArrayViewFromImage(kept), sitk.GetArrayViewFromImage(phantom))
    sitk.WriteImage(sitk.Cast(phantom, sitk.sitkInt32), str(tmp_path / "wide.nii.gz"))
    assert read_ct(tmp_path / "wide.nii.gz", keep_integers=True).GetPixelID() == sitk.sitkFloat32


def test_only_integers_float32_holds_exactly_keep_their_type():
    assert keeps_own_type(np.zeros(2, np.int16)) and keeps_own_type(np.zeros(2, np.uint8))
    assert not keeps_own_type(np.zeros(2, np.int32)) and not keeps_own_type(np.zeros(2, np.float64))


def test_binning_an_integer_ct_gives_the_float32_means():
    image = np.random.default_rng(3).integers(-1024, 3071, size=(9, 20, 31)).astype(np.int16)
    binned = bin_mean(image, (2, 3, 4))
    assert binned.dtype == np.float32
    np.testing.assert_array_equal(binned, bin_mean(image.astype(np.float32), (2, 3, 4)))


@pytest.mark.parametrize("speed", [SpeedOptions(mirroring=False), SpeedOptions(mirroring=False, lean=False)],
                         ids=["lean", "whole-image"])
def test_an_int16_ct_gives_the_labels_of_the_float32_ct(demo_package, phantom, tmp_path, speed):
    engine = SegmentationEngine(open_package(demo_package, tmp_path), "cascade", torch.device("cpu"), tmp_path,
                                speed=speed)
    as_int16 = engine.segment(phantom).label_map
    as_float32 = engine.segment(sitk.Cast(phantom, sitk.sitkFloat32)).label_map
    assert (as_int16 > 0).sum() > 1000
    assert np.array_equal(as_int16, as_float32)
