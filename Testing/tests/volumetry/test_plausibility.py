"""Plausibility warnings keep the verdict and carry stable codes: liver volume, CRLM burden, FLR beyond the
functional liver, several liver pieces of similar size."""

import numpy as np
import SimpleITK as sitk

from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.volumetry.flr_assessment import AssessmentOptions, assess
from FLRSegmentationLib.volumetry.plausibility import LIVER_VOLUME_RANGE_ML
from FLRSegmentationLib.volumetry.segmentation_volumes import measure_segmentation_file

VERDICTS = {"sufficient", "insufficient"}


def measured(tmp_path, array, spacing=(5.0, 5.0, 5.0), name="labels.nii.gz"):
    image = sitk.GetImageFromArray(array.astype(np.uint8))
    image.SetSpacing(spacing)
    path = tmp_path / name
    sitk.WriteImage(image, str(path))
    return assess(measure_segmentation_file(path), AssessmentOptions())


def codes(result):
    return [w["code"] for w in result["warnings"]]


def box_liver(shape=(40, 40, 40)):
    """A liver of 20 x 20 x 20 voxels in the middle of the scan, its left half FLR and a small CRLM."""
    array = np.zeros(shape, np.uint8)
    array[10:30, 10:30, 10:30] = 1
    array[10:30, 10:30, 20:30] = 3
    array[12:14, 12:14, 12:14] = 2
    return array


def test_a_phantom_liver_is_plausible(tmp_path):
    _, labels = make_phantom(9002)
    result = measured(tmp_path, sitk.GetArrayFromImage(labels), labels.GetSpacing())
    assert LIVER_VOLUME_RANGE_ML[0] <= result["liver_ml"] <= LIVER_VOLUME_RANGE_ML[1]
    assert codes(result) == [] and result["verdict"] in VERDICTS


def test_liver_volume_outside_the_adult_range_warns_and_keeps_the_verdict(tmp_path):
    small = measured(tmp_path, box_liver(), (2.0, 2.0, 2.0))  # 8000 voxels of 8 mm^3: 64 mL
    large = measured(tmp_path, box_liver(), (8.0, 8.0, 8.0))  # 4096 mL
    for result in (small, large):
        assert codes(result) == ["liver_volume_implausible"] and result["verdict"] in VERDICTS
        assert "Eur J Radiol 2018" in result["warnings"][0]["message"]


def test_crlm_over_half_the_liver_warns(tmp_path):
    array = box_liver()
    array[10:30, 10:30, 10:21] = 2  # 55 % of the liver
    result = measured(tmp_path, array)
    assert "crlm_over_half_liver" in codes(result) and result["verdict"] in VERDICTS


def test_flr_segment_larger_than_the_functional_liver_warns(tmp_path):
    liver = np.zeros((40, 40, 40), bool)
    liver[10:30, 10:30, 10:30] = True
    flr = np.zeros_like(liver)
    flr[5:35, 5:35, 5:35] = True  # drawn far beyond the liver
    grid = sitk.Image([40, 40, 40], sitk.sitkUInt8)
    grid.SetSpacing((5.0, 5.0, 5.0))
    path = tmp_path / "wide_flr.seg.nrrd"
    write_seg_nrrd(path, {"liver": liver, "crlm": np.zeros_like(liver), "flr": flr}, grid)
    result = assess(measure_segmentation_file(path), AssessmentOptions())
    assert result["flr_percent"] == 100.0 and "flr_larger_than_functional_liver" in codes(result)


def test_liver_in_pieces_of_similar_size_warns_and_a_small_island_does_not(tmp_path):
    array = np.zeros((40, 80, 40), np.uint8)
    array[10:30, 5:25, 10:30] = 1
    array[10:30, 5:25, 20:30] = 3
    array[12:28, 50:70, 12:28] = 1  # a second piece of 16 x 20 x 16 = 64 % of the first
    result = measured(tmp_path, array)
    assert "liver_components_of_similar_size" in codes(result) and result["liver_components_ml"][1] > 0
    array[12:28, 50:70, 12:28] = 0
    array[12:15, 50:53, 12:15] = 1
    assert "liver_components_of_similar_size" not in codes(measured(tmp_path, array))
