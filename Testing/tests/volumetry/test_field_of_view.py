"""A liver cut by the scan gives `complete: false` and no verdict: label maps, `.seg.nrrd` files cropped to their
segments as Slicer saves them (judged on the reference geometry), real CT labels, and whole phantom livers."""

import nrrd
import numpy as np
import pytest
import SimpleITK as sitk

from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.volumetry.flr_assessment import AssessmentOptions, assess
from FLRSegmentationLib.volumetry.flr_thresholds import INSUFFICIENT, SUFFICIENT
from FLRSegmentationLib.volumetry.result_warnings import FIELD_OF_VIEW_UNCHECKED, LIVER_CUT_BY_SCAN
from FLRSegmentationLib.volumetry.segmentation_volumes import measure_segmentation_file
from mrml_volumetry import slicer_saved_segmentation

VERDICTS = {SUFFICIENT, INSUFFICIENT}


def codes(result):
    return [w["code"] for w in result["warnings"]]


def phantom_labels(seed=9001):
    _, labels = make_phantom(seed)
    return labels


def masks_of(labels: sitk.Image) -> dict:
    array = sitk.GetArrayFromImage(labels)
    return {"Liver": array > 0, "CRLM": array == 2, "FLR": array == 3}


def test_whole_phantom_liver_is_complete_and_gets_verdicts(tmp_path):
    path = tmp_path / "phantom_seg.nii.gz"
    sitk.WriteImage(phantom_labels(), str(path))
    result = assess(measure_segmentation_file(path), AssessmentOptions(175, 80))
    assert result["complete"] is True and LIVER_CUT_BY_SCAN not in codes(result)
    assert result["verdict"] in VERDICTS and result["sflr_verdict"] in VERDICTS


@pytest.mark.parametrize("cut", ["first slice", "last slice", "first column", "last row"])
def test_label_map_cut_by_the_scan_is_incomplete_without_verdict(tmp_path, cut):
    labels = phantom_labels()
    array = sitk.GetArrayFromImage(labels)
    liver_z = np.flatnonzero(array.any((1, 2)))
    liver_y = np.flatnonzero(array.any((0, 2)))
    liver_x = np.flatnonzero(array.any((0, 1)))
    crops = {"first slice": np.s_[liver_z[len(liver_z) // 2]:], "last slice": np.s_[:liver_z[len(liver_z) // 2]],
             "first column": np.s_[:, :, liver_x[len(liver_x) // 2]:],
             "last row": np.s_[:, :liver_y[len(liver_y) // 2]]}
    cropped = sitk.GetImageFromArray(array[crops[cut]])
    path = tmp_path / "cut_seg.nii.gz"
    sitk.WriteImage(cropped, str(path))
    result = assess(measure_segmentation_file(path), AssessmentOptions(175, 80))
    assert result["complete"] is False
    assert result["verdict"] == "incomplete" and result["sflr_verdict"] == "incomplete"
    message = next(w["message"] for w in result["warnings"] if w["code"] == LIVER_CUT_BY_SCAN)
    assert cut in message and "no verdict" in message


def test_real_ct_labels_whose_scan_cuts_the_liver_are_incomplete(real_data, tmp_path):
    """TotalSegmentator's labels of example_ct_sm (liver = 5): its 30 slices cut the liver."""
    labels = sitk.ReadImage(str(real_data / "totalsegmentator" / "example_seg.nii.gz"))
    liver = sitk.Cast(labels == 5, sitk.sitkUInt8)  # all liver, no FLR drawn: the verdict is "no FLR segment"
    flr = sitk.GetArrayFromImage(liver)
    flr[:, :, : flr.shape[2] // 2] *= 3  # half of it as FLR
    image = sitk.GetImageFromArray(flr)
    image.CopyInformation(labels)
    path = tmp_path / "example_seg_flr.nii.gz"
    sitk.WriteImage(image, str(path))
    result = assess(measure_segmentation_file(path), AssessmentOptions())
    assert result["complete"] is False and result["verdict"] == "incomplete"
    assert result["flr_percent"] is not None  # the number stays visible, its verdict is withheld


def test_slicer_cropped_seg_nrrd_is_judged_on_its_reference_geometry(tmp_path, scene):
    reference = phantom_labels()
    whole = tmp_path / "whole.seg.nrrd"
    slicer_saved_segmentation(scene, masks_of(reference), reference, whole)
    header = nrrd.read_header(str(whole))
    assert tuple(header["sizes"][-3:]) != reference.GetSize()  # Slicer cropped the labelmap to the segments
    result = assess(measure_segmentation_file(whole), AssessmentOptions())
    assert result["complete"] is True and result["verdict"] in VERDICTS  # the cropped faces are not the scan's

    array = sitk.GetArrayFromImage(reference)
    cut = sitk.GetImageFromArray(array[:, :, np.flatnonzero(array.any((0, 1)))[10]:])  # the scan cut the liver
    cut.SetSpacing(reference.GetSpacing())
    cut.SetDirection(reference.GetDirection())
    cut.SetOrigin(reference.TransformIndexToPhysicalPoint((int(np.flatnonzero(array.any((0, 1)))[10]), 0, 0)))
    cut_path = tmp_path / "cut.seg.nrrd"
    slicer_saved_segmentation(scene, masks_of(cut), cut, cut_path)
    result = assess(measure_segmentation_file(cut_path), AssessmentOptions(175, 80))
    assert result["complete"] is False and result["verdict"] == result["sflr_verdict"] == "incomplete"
    assert "the first column" in result["warnings"][0]["message"]


def test_seg_nrrd_without_reference_geometry_says_the_check_was_not_made(tmp_path):
    reference = phantom_labels()
    path = tmp_path / "plain.seg.nrrd"
    from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd

    array = sitk.GetArrayFromImage(reference)
    write_seg_nrrd(path, {"liver": array > 0, "crlm": array == 2, "flr": array == 3}, reference)
    data, header = nrrd.read(str(path))
    del header["Segmentation_ConversionParameters"]
    nrrd.write(str(path), data, header)
    result = assess(measure_segmentation_file(path), AssessmentOptions())
    assert result["complete"] is None and FIELD_OF_VIEW_UNCHECKED in codes(result)
