"""Annotation datasets on real files: both layouts, label values from dataset.json, statuses, filter, grid checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk

from annotation_phantoms import engine_masks, phantom_case, write_folder, write_nnunet
from FLRSegmentationLib.annotation.dataset import FOLDER, NNUNET, open_dataset
from FLRSegmentationLib.annotation.label_files import LabelMapping, SegNrrdFile
from FLRSegmentationLib.annotation.save import save_label
from FLRSegmentationLib.annotation.store import CORRECTED, NOT_STARTED, PRELABELLED, VERIFIED
from FLRSegmentationLib.errors import InputError

CRLM_CT_SEG_LABELS = {"background": 0, "Liver": 1, "Liver_Remnant": 2, "Tumor": 3, "hepatic vein": 4}


@pytest.fixture(scope="module")
def phantoms():
    return {f"case_{seed:03d}": phantom_case(seed) for seed in (1, 2, 3)}


def test_nnunet_layout_lists_cases_with_label_paths_and_statuses(tmp_path, phantoms):
    cases = {"case_001": phantoms["case_001"], "case_002": phantoms["case_002"],
             "case_003": (phantoms["case_003"][0], None)}
    dataset = open_dataset(write_nnunet(tmp_path / "Dataset501_Liver", cases))

    assert dataset.layout == NNUNET
    assert [(case.id, status) for case, status in dataset.worklist()] == [
        ("case_001", PRELABELLED), ("case_002", PRELABELLED), ("case_003", NOT_STARTED)]
    case = dataset.case("case_003")
    assert case.image.name == "case_003_0000.nii.gz" and case.label == dataset.root / "labelsTr" / "case_003.nii.gz"
    masks = dataset.read_label(dataset.case("case_001"))
    for key, mask in engine_masks(phantoms["case_001"][1]).items():
        assert np.array_equal(masks[key], mask), key
    assert dataset.read_label(case) is None


def test_folder_layout_finds_label_maps_and_slicer_segmentations_beside_the_cts(tmp_path, phantoms):
    cases = {"a": phantoms["case_001"], "b": phantoms["case_002"], "c": phantoms["case_003"],
             "d": (phantoms["case_003"][0], None)}
    root = write_folder(tmp_path / "cts", cases, seg_nrrd=("b",))
    (root / "a_report.json").write_text("{}")  # engine outputs beside the CTs are not cases

    dataset = open_dataset(root)

    assert dataset.layout == FOLDER
    assert list(dataset.cases) == ["a", "b", "c", "d"]
    assert dataset.case("a").label.name == "a_seg.nii.gz"
    assert dataset.case("b").label.name == "b.seg.nrrd" and isinstance(dataset.case("b").label_format, SegNrrdFile)
    assert dataset.case("d").label.name == "d_seg.nii.gz"  # the format most labels have
    assert [status for _, status in dataset.worklist()] == [PRELABELLED] * 3 + [NOT_STARTED]
    for case_id, seed in (("a", "case_001"), ("b", "case_002")):
        masks = dataset.read_label(dataset.case(case_id))
        for key, mask in engine_masks(phantoms[seed][1]).items():
            assert np.array_equal(masks[key], mask), (case_id, key)


def test_label_values_and_names_come_from_dataset_json(tmp_path, phantoms):
    ct, label = phantoms["case_001"]
    vessel = np.zeros(sitk.GetArrayFromImage(label).shape, bool)
    vessel[0, :3, :3] = True  # outside the phantom's liver
    root = write_nnunet(tmp_path / "ds", {"case_001": (ct, label)}, CRLM_CT_SEG_LABELS, recode={1: 1, 2: 3, 3: 2})
    path = root / "labelsTr" / "case_001.nii.gz"
    array = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    array[vessel] = 4
    stored = sitk.GetImageFromArray(array)
    stored.CopyInformation(ct)
    sitk.WriteImage(stored, str(path))

    dataset = open_dataset(root)
    case = dataset.case("case_001")
    segments = case.label_format.segments

    assert [(s.key, s.name) for s in segments] == [("liver", "Liver"), ("flr", "FLR"), ("crlm", "CRLM"),
                                                  ("hepatic vein", "hepatic vein")]
    masks = dataset.read_label(case)
    for key, mask in engine_masks(label).items():
        assert np.array_equal(masks[key], mask), key  # Liver holds the remnant and the tumour, as in the engine
    assert np.array_equal(masks["hepatic vein"], vessel)
    assert np.array_equal(case.label_format.mapping.encode(masks), array)  # written back value for value


def test_region_based_labels_round_trip_and_refuse_what_they_cannot_store():
    mapping = LabelMapping.from_labels({"background": 0, "liver": [1, 2, 3], "crlm": [2], "flr": [3]}, "dataset.json")
    array = np.array([[[0, 1, 2, 3]]], np.uint8)
    masks = mapping.decode(array, "label")
    assert masks["liver"].tolist() == [[[False, True, True, True]]]
    assert np.array_equal(mapping.encode(masks), array)

    masks["crlm"][0, 0, 3] = True  # CRLM overlapping FLR
    masks["crlm"][0, 0, 0] = True  # CRLM outside the liver
    with pytest.raises(InputError, match=r"1 voxels in CRLM only; 1 voxels in Liver \+ CRLM \+ FLR only"):
        mapping.encode(masks)


def test_ambiguous_label_values_are_refused():
    with pytest.raises(InputError, match="label values 1 and 2 cover the same segments"):
        LabelMapping.from_labels({"background": 0, "liver": [1, 2], "crlm": [3]}, "dataset.json")


def test_a_label_on_another_grid_is_reported_and_left_alone(tmp_path, phantoms):
    ct, label = phantoms["case_001"]
    root = write_nnunet(tmp_path / "ds", {"case_001": (ct, label)})
    path = root / "labelsTr" / "case_001.nii.gz"
    shifted = sitk.Image(label)
    shifted.SetOrigin([o + 4.5 for o in label.GetOrigin()])  # half a voxel: a resample would blur every edge
    sitk.WriteImage(shifted, str(path))
    before = path.read_bytes()
    dataset = open_dataset(root)
    case = dataset.case("case_001")

    with pytest.raises(InputError, match=r"case_001.nii.gz: its grid differs from its image case_001_0000.nii.gz "
                                         r"\(origin .* vs .*\); labels are never resampled"):
        dataset.read_label(case)
    with pytest.raises(InputError, match="grid differs"):
        save_label(dataset, case, engine_masks(label), "ann")
    assert path.read_bytes() == before
    assert not dataset.versions_folder.exists()


def test_a_slicer_segmentation_on_another_grid_is_reported(tmp_path, phantoms):
    ct, label = phantoms["case_001"]
    root = write_folder(tmp_path / "cts", {"a": (ct, None)})
    bigger = sitk.ConstantPad(label, [0, 0, 0], [0, 0, 1])  # one slice more than the CT
    from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd
    write_seg_nrrd(root / "a.seg.nrrd", engine_masks(bigger), bigger)

    with pytest.raises(InputError, match=r"a.seg.nrrd: its grid differs .* \(size 40x36x25 vs 40x36x24\)"):
        open_dataset(root).read_label(open_dataset(root).case("a"))


def test_label_values_the_dataset_does_not_define_are_reported(tmp_path, phantoms):
    ct, label = phantoms["case_001"]
    root = write_nnunet(tmp_path / "ds", {"case_001": (ct, label)}, {"background": 0, "liver": 1, "crlm": 2})
    with pytest.raises(InputError, match=r"holds label values \[3\] that the dataset does not define"):
        open_dataset(root).read_label(open_dataset(root).case("case_001"))


def test_filter_next_previous_and_summary(tmp_path, phantoms):
    cases = {"a": phantoms["case_001"], "b": (phantoms["case_002"][0], None), "c": phantoms["case_003"],
             "d": (phantoms["case_001"][0], None)}
    dataset = open_dataset(write_folder(tmp_path / "cts", cases))
    save_label(dataset, dataset.case("c"), dataset.read_label(dataset.case("c")), "ann")
    dataset.store.set_verified("a", True, "reviewer")
    dataset.store.add_time("a", 60.0)
    dataset.store.add_time("c", 30.5)

    assert [c.id for c, _ in dataset.worklist(NOT_STARTED)] == ["b", "d"]
    assert [(c.id, s) for c, s in dataset.worklist()] == [("a", VERIFIED), ("b", NOT_STARTED), ("c", CORRECTED),
                                                         ("d", NOT_STARTED)]
    assert dataset.neighbour(None, 1) == "a" and dataset.neighbour(None, -1) == "d"
    assert dataset.neighbour("a", 1, NOT_STARTED) == "b"
    assert dataset.neighbour("b", 1, NOT_STARTED) == "d"
    assert dataset.neighbour("d", 1, NOT_STARTED) is None
    assert dataset.neighbour("c", -1, NOT_STARTED) == "b"  # from outside the filter: where it would sit
    assert dataset.summary() == {"cases": 4, "by_status": {NOT_STARTED: 2, PRELABELLED: 0, CORRECTED: 1, VERIFIED: 1},
                                 "seconds_spent": 90.5, "saves": 1}


def test_bad_datasets_are_one_line_errors(tmp_path, phantoms):
    with pytest.raises(InputError, match="not a folder"):
        open_dataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no CT files"):
        open_dataset(tmp_path / "empty")
    root = write_folder(tmp_path / "two", {"a": phantoms["case_001"]}, seg_nrrd=())
    write_folder(root, {"a": phantoms["case_001"]}, seg_nrrd=("a",))
    with pytest.raises(InputError, match=r"case 'a' has 2 label files \(a.seg.nrrd, a_seg.nii.gz\); keep one"):
        open_dataset(root)
    broken = write_nnunet(tmp_path / "nolabels", {"x": phantoms["case_001"]})
    (broken / "dataset.json").write_text(json.dumps({"file_ending": ".nii.gz"}))
    with pytest.raises(InputError, match="no 'labels'"):
        open_dataset(broken)
