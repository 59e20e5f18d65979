"""Saving labels back into a dataset on real files: format, grid and values kept, versions, crashes, sidecars."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from annotation_phantoms import LEFT_HANDED, phantom_case, write_folder, write_nnunet
from FLRSegmentationLib.annotation.dataset import open_dataset
from FLRSegmentationLib.annotation.save import save_label, versions
from FLRSegmentationLib.annotation.store import CORRECTED, PRELABEL, PRELABELLED, VERIFIED
from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.imaging import atomic_files
from FLRSegmentationLib.imaging.seg_nrrd import read_seg_nrrd

REPO = Path(__file__).resolve().parents[3]
RECODE = {1: 1, 2: 3, 3: 2}  # the dataset's values: liver 1, FLR 2, CRLM 3
LABELS = {"background": 0, "liver": 1, "Liver Remnant": 2, "tumour": 3}


@pytest.fixture
def dataset(tmp_path):
    """An nnU-Net dataset with its own label values and int16 label files, on a left-handed grid."""
    ct, label = phantom_case(4, LEFT_HANDED)
    int16_label = sitk.Cast(label, sitk.sitkInt16)
    root = write_nnunet(tmp_path / "Dataset502", {"case_001": (ct, int16_label), "case_002": (ct, None)},
                        LABELS, recode=RECODE)
    return open_dataset(root)


def corrected(masks: dict) -> dict:
    """An annotator's correction: a block of FLR becomes CRLM."""
    edited = {key: mask.copy() for key, mask in masks.items()}
    block = np.zeros_like(edited["flr"])
    block[8:12, 10:20, 15:25] = True
    block &= edited["flr"]
    edited["flr"] &= ~block
    edited["crlm"] |= block
    return edited, int(block.sum())


def files_in(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_save_keeps_format_grid_values_and_the_previous_version(dataset):
    case = dataset.case("case_001")
    old_bytes = case.label.read_bytes()
    edited, moved = corrected(dataset.read_label(case))
    assert moved > 0

    entry = save_label(dataset, case, edited, "annotator A")

    saved = sitk.ReadImage(str(case.label))
    ct = sitk.ReadImage(str(case.image))
    assert saved.GetSize() == ct.GetSize() and saved.GetOrigin() == ct.GetOrigin()
    assert saved.GetSpacing() == ct.GetSpacing() and saved.GetDirection() == ct.GetDirection()
    assert saved.GetPixelID() == sitk.sitkInt16  # the dataset's own pixel type
    array = sitk.GetArrayFromImage(saved)
    assert set(np.unique(array)) <= {0, 1, 2, 3}
    assert np.array_equal(array == 3, edited["crlm"]) and np.array_equal(array == 2, edited["flr"])
    reread = dataset.read_label(case)
    for key in edited:
        assert np.array_equal(reread[key], edited[key]), key

    kept = versions(dataset, case)
    assert [p.name for p in kept] == ["0001_case_001.nii.gz"] and kept[0].read_bytes() == old_bytes
    assert entry["who"] == "annotator A" and entry["kind"] == "correction" and entry["model"] is None
    assert datetime.fromisoformat(entry["when"]).tzinfo is not None
    assert entry["voxels_changed"] == moved
    assert entry["voxels_changed_by_segment"] == {"liver": 0, "flr": moved, "crlm": moved}
    assert entry["previous_version"] == "annotation/versions/case_001/0001_case_001.nii.gz"
    assert dataset.store.record("case_001")["saves"] == [entry]
    assert dataset.status(case) == CORRECTED


def test_every_save_adds_a_numbered_version(dataset):
    case = dataset.case("case_001")
    first, _ = corrected(dataset.read_label(case))
    save_label(dataset, case, first, "a")
    after_first = case.label.read_bytes()
    second = {key: mask.copy() for key, mask in first.items()}
    second["crlm"][:] = False
    save_label(dataset, case, second, "b")

    assert [p.name for p in versions(dataset, case)] == ["0001_case_001.nii.gz", "0002_case_001.nii.gz"]
    assert versions(dataset, case)[1].read_bytes() == after_first
    assert [s["who"] for s in dataset.store.record("case_001")["saves"]] == ["a", "b"]


def test_a_crash_at_the_rename_leaves_the_old_label_and_nothing_else(dataset, monkeypatch):
    case = dataset.case("case_001")
    labels_before = files_in(case.label.parent)
    record_before = dataset.store.record(case.id)
    edited, _ = corrected(dataset.read_label(case))

    real_replace = os.replace

    def crash(source, target):
        if Path(target) == case.label:
            raise OSError("disk unplugged")
        real_replace(source, target)

    monkeypatch.setattr(atomic_files.os, "replace", crash)
    with pytest.raises(OSError, match="disk unplugged"):
        save_label(dataset, case, edited, "a")
    monkeypatch.undo()

    assert files_in(case.label.parent) == labels_before
    assert [p.name for p in case.label.parent.iterdir()] == list(labels_before)  # no staging folder left
    reopened = open_dataset(dataset.root)
    assert list(reopened.cases) == ["case_001", "case_002"]
    assert reopened.status(reopened.case(case.id)) == PRELABELLED
    assert reopened.store.record(case.id) == record_before
    assert [p.read_bytes() for p in versions(dataset, case)] == [labels_before[case.label.name]]  # a spare copy


KILLED_AT_RENAME = """
    import os, signal
    from FLRSegmentationLib.imaging import atomic_files
    from FLRSegmentationLib.annotation.dataset import open_dataset
    from FLRSegmentationLib.annotation.save import save_label
    real_replace = os.replace
    def replace(source, target):
        if str(target).endswith("labelsTr/case_001.nii.gz"):
            os.kill(os.getpid(), signal.SIGKILL)  # power cut after writing, before renaming
        real_replace(source, target)
    atomic_files.os.replace = replace
    dataset = open_dataset({root!r})
    case = dataset.case("case_001")
    masks = dataset.read_label(case)
    masks["crlm"][:] = False
    save_label(dataset, case, masks, "a")
    """


def test_a_process_killed_between_writing_and_renaming_leaves_the_old_label(dataset):
    case = dataset.case("case_001")
    old_bytes = case.label.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(REPO / "FLRSegmentation")}
    script = textwrap.dedent(KILLED_AT_RENAME.format(root=str(dataset.root)))
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr

    assert case.label.read_bytes() == old_bytes
    staged = [p for p in case.label.parent.iterdir() if p.is_dir()]
    assert len(staged) == 1 and (staged[0] / case.label.name).is_file()  # the new label, written but never renamed
    nnunet_labels = sorted(p.name for p in case.label.parent.iterdir() if p.is_file() and p.name.endswith(".nii.gz"))
    assert nnunet_labels == ["case_001.nii.gz"]  # what nnU-Net and the annotator list: the staged file is not there
    reopened = open_dataset(dataset.root)
    assert list(reopened.cases) == ["case_001", "case_002"]
    assert reopened.read_label(reopened.case("case_001"))["crlm"].any()
    assert reopened.store.record("case_001")["saves"] == []


def test_status_notes_and_time_survive_a_restart(dataset):
    store = dataset.store
    store.set_notes("case_001", "tumour 2 touches the portal vein; check segment 5")
    store.set_verified("case_001", True, "reviewer R")
    store.add_time("case_001", 125.25)
    store.add_time("case_002", 10.0)

    restarted = open_dataset(dataset.root)  # new objects, reading the same folder
    record = restarted.store.record("case_001")
    assert record["notes"] == "tumour 2 touches the portal vein; check segment 5"
    assert record["verified"] and record["verified_by"] == "reviewer R"
    assert record["seconds_spent"] == 125.2
    assert restarted.status(restarted.case("case_001")) == VERIFIED
    assert restarted.summary()["seconds_spent"] == 135.2
    sidecar = json.loads((dataset.root / "annotation" / "case_001.json").read_text())
    assert sidecar["case"] == "case_001" and sidecar["notes"].startswith("tumour 2")


def test_a_new_correction_clears_the_verified_flag(dataset):
    case = dataset.case("case_001")
    dataset.store.set_verified(case.id, True, "reviewer")
    edited, _ = corrected(dataset.read_label(case))
    save_label(dataset, case, edited, "a")
    assert dataset.status(case) == CORRECTED and dataset.store.record(case.id)["verified_by"] is None


def test_a_prelabel_records_its_model_and_creates_the_label(dataset):
    case = dataset.case("case_002")
    masks = dataset.read_label(dataset.case("case_001"))
    model = {"id": "demo-phantom", "version": "1.0", "demo": True, "strategy": "cascade"}

    entry = save_label(dataset, case, masks, "ann", PRELABEL, model)

    assert case.has_label and versions(dataset, case) == []
    assert entry["previous_version"] is None and entry["voxels_changed"] == int(masks["liver"].sum())
    assert dataset.store.record(case.id)["prelabel_model"] == model
    assert dataset.status(case) == PRELABELLED
    assert sitk.ReadImage(str(case.label)).GetPixelID() == sitk.sitkUInt8  # no previous file: the smallest type


def test_slicer_segmentation_labels_are_saved_as_slicer_segmentations(tmp_path, read_with_slicer):
    ct, label = phantom_case(5)
    dataset = open_dataset(write_folder(tmp_path / "cts", {"a": (ct, label)}, seg_nrrd=("a",)))
    case = dataset.case("a")
    edited, _ = corrected(dataset.read_label(case))

    save_label(dataset, case, edited, "a")

    masks, grid = read_seg_nrrd(case.label)
    assert grid.GetSize() == ct.GetSize() and np.allclose(grid.GetDirection(), ct.GetDirection())
    assert {name: mask.sum() for name, mask in masks.items()} == {
        "Liver": edited["liver"].sum(), "CRLM": edited["crlm"].sum(), "FLR": edited["flr"].sum()}
    node = read_with_slicer(case.label)  # Slicer itself reads what was saved
    assert node.GetSegmentation().GetNumberOfSegments() == 3
    assert [p.name for p in versions(dataset, case)] == ["0001_a.seg.nrrd"]


def test_what_the_dataset_cannot_store_is_refused_before_any_write(dataset):
    case = dataset.case("case_001")
    before = case.label.read_bytes()
    masks = dataset.read_label(case)
    masks["crlm"] |= masks["flr"]  # CRLM painted over the FLR
    with pytest.raises(InputError, match=r"voxels in Liver \+ FLR \+ CRLM only: the dataset's labels"):
        save_label(dataset, case, masks, "a")
    assert case.label.read_bytes() == before and versions(dataset, case) == []
    assert dataset.store.record(case.id)["saves"] == []


def test_a_damaged_sidecar_is_reported(dataset):
    (dataset.root / "annotation").mkdir()
    (dataset.root / "annotation" / "case_001.json").write_text("{ half written")
    with pytest.raises(InputError, match="case_001.json: the annotation record can't be read"):
        dataset.status(dataset.case("case_001"))
