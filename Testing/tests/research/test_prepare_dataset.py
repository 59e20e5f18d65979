"""`flrseg prepare-dataset`: a TCIA-like download (DICOM CT + DICOM-SEG per patient) -> nnU-Net v2 raw datasets.

The download is written from phantoms (synthetic_tcia.py: pydicom CT series, highdicom SEGs with the dataset's
pitfalls), converted, and checked voxel for voxel against the phantoms' own CT and label map; the real DICOM-SEG
of ../shared/data/real/dcmqi-ct-3slice is checked against the NRRD of the same mask.
"""

import hashlib
import itertools
import json
import shutil
import subprocess
import sys

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid
import SimpleITK as sitk

from FLRSegmentationLib.cli.main import main
from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.imaging.ct_input import read_ct
from FLRSegmentationLib.imaging.grid_placement import OffGridError, place
from FLRSegmentationLib.imaging.image_grid import ImageGrid
from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd
from FLRSegmentationLib.inference.stage_io import training_case
from FLRSegmentationLib.research.nnunet_dataset import case_files
from FLRSegmentationLib.research.tcia_reader import read_ct_and_segments, read_patient, segment_role
from FLRSegmentationLib.vocabulary.labels import split_label_map
from FLRSegmentationLib.vocabulary.stages import STAGES
from synthetic_tcia import LIVER, ORGAN, UNUSABLE, study_attributes, write_ct_series, write_seg, write_tree

USABLE = ["CRLM-CT-1001", "CRLM-CT-1002", "CRLM-CT-1003", "CRLM-CT-1004", "CRLM-CT-1005"]
CASCADE = {"liver": "Dataset511_FLRSegLiver", "crlm": "Dataset512_FLRSegCRLM", "flr": "Dataset513_FLRSegFLR"}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("tcia") / "Colorectal-Liver-Metastases"
    return root, write_tree(root)


def tree_digest(root) -> str:
    """Names, contents, modes and times of every file and folder: any change to SOURCE changes it."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)} {stat.st_mode} {stat.st_mtime_ns}".encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def on_grid(image: sitk.Image, reference: sitk.Image) -> np.ndarray:
    """`image` sampled at `reference`'s voxel centres (nearest voxel: exact where the centres coincide)."""
    resampled = sitk.Resample(image, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0, image.GetPixelID())
    return sitk.GetArrayFromImage(resampled)


def verify_with_nnunet(folder) -> None:
    """nnU-Net's own check of a raw dataset (file names, counts, grids, label values), in a process of its own."""
    code = ("import sys; from nnunetv2.experiment_planning.verify_dataset_integrity import verify_dataset_integrity; "
            "verify_dataset_integrity(sys.argv[1], 1)")
    proc = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def written_case(folder, stage, case):
    """The image channels (c, z, y, x) and the label a dataset holds for a case."""
    *images, label = (sitk.GetArrayFromImage(sitk.ReadImage(str(p))) for p in case_files(folder, STAGES[stage], case))
    return np.stack(images), label


def assert_case_is_the_stage_code_output(folder, stage, case, ct, label_map):
    image, target, spacing = training_case(STAGES[stage], ct, label_map)
    written_image, written_label = written_case(folder, stage, case)
    assert np.array_equal(written_image[0], image[0].astype(np.int16)), (stage, case)
    assert np.array_equal(written_image[1:], image[1:]), (stage, case)
    assert np.array_equal(written_label, target), (stage, case)
    assert np.allclose(sitk.ReadImage(str(case_files(folder, STAGES[stage], case)[-1])).GetSpacing(), spacing[::-1])


@pytest.mark.parametrize("patient", USABLE)
def test_reader_gives_back_the_phantom_voxel_for_voxel(tree, patient):
    root, patients = tree
    truth = patients[patient]
    read = read_patient(root / patient)
    assert sorted(read.ct.GetSize()) == sorted(truth.ct.GetSize())
    assert np.array_equal(sitk.GetArrayFromImage(read.ct), on_grid(sitk.Cast(truth.ct, sitk.sitkFloat32), read.ct))
    assert np.array_equal(sitk.GetArrayFromImage(read.label_map), on_grid(truth.truth, read.label_map))
    assert read.facts["remnant_voxels_in_tumour"] == truth.seg_tumour_voxels
    assert read.facts["remnant_voxels_outside_liver"] == truth.seg_remnant_outside


def test_the_tree_has_the_pitfalls_it_claims(tree):
    """Frames for a sub-range of slices, a flipped SEG, several acquisitions: else the test above proves less."""
    root, patients = tree
    seg = pydicom.dcmread(root / "CRLM-CT-1003" / "study" / "seg.dcm")
    positions = {tuple(f.PlanePositionSequence[0].ImagePositionPatient) for f in seg.PerFrameFunctionalGroupsSequence}
    assert len(positions) < patients["CRLM-CT-1003"].ct.GetSize()[2]
    assert len(seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence) < patients["CRLM-CT-1003"].ct.GetSize()[2]
    acquisitions = {pydicom.dcmread(p, stop_before_pixels=True).AcquisitionNumber
                    for p in (root / "CRLM-CT-1003" / "study" / "series").iterdir()}
    assert acquisitions == {1, 2}
    flipped = pydicom.dcmread(root / "CRLM-CT-1002" / "a" / "seg" / "1-1.dcm")
    ct_slice = pydicom.dcmread(next((root / "CRLM-CT-1002" / "a" / "ct").iterdir()))
    seg_orientation = flipped.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient
    assert np.allclose(np.array(seg_orientation[:3], float), -np.array(ct_slice.ImageOrientationPatient[:3], float),
                       atol=1e-6)
    read = read_patient(root / "CRLM-CT-1003")
    assert read.facts["ct_acquisition"] == "1" and read.facts["ct_size"][2] == patients["CRLM-CT-1003"].ct.GetSize()[2]


def test_real_dicom_seg_is_aligned_to_its_ct_like_its_nrrd(real_data):
    folder = real_data / "dcmqi-ct-3slice"
    ct, masks, facts = read_ct_and_segments(folder)
    reference = sitk.ReadImage(str(folder / "liver_seg.nrrd"))
    assert ct.GetSize() == reference.GetSize() == (512, 512, 3)
    for get in ("GetOrigin", "GetSpacing", "GetDirection"):
        assert np.allclose(getattr(ct, get)(), getattr(reference, get)(), atol=1e-4), get
    assert list(masks) == ["Liver"] and facts["seg_frames"] == 3
    assert np.array_equal(masks["Liver"], sitk.GetArrayFromImage(reference) > 0)
    assert masks["Liver"].sum() == 107098
    assert np.array_equal(sitk.GetArrayFromImage(ct), sitk.GetArrayFromImage(read_ct(folder)))
    with pytest.raises(InputError, match="'Liver Remnant' segment .*'Liver'"):
        read_patient(folder)


@pytest.mark.parametrize("kind", ["BINARY", "LABELMAP"])
def test_seg_kinds_and_frames_that_do_not_end_on_a_byte_boundary(tmp_path, kind):
    """7 x 9 pixels: 1-bit frames share bytes; LABELMAP: one frame per slice holding segment numbers."""
    rng = np.random.default_rng(1)
    ct = sitk.GetImageFromArray(rng.integers(-100, 200, (5, 7, 9)).astype(np.int16))
    ct.SetSpacing((1.0, 1.2, 2.0))
    sources = write_ct_series(ct, tmp_path / "p" / "ct", study_attributes("p"), generate_uid(), 1, "1")
    labels = rng.integers(0, 3, (5, 7, 9)).astype(np.uint8)
    masks = {"Liver": labels == 1, "Liver Remnant": labels == 2}
    if kind == "BINARY":
        write_seg(tmp_path / "p" / "seg.dcm", sources, masks)
    else:
        descriptions = [hd.seg.SegmentDescription(i + 1, name, ORGAN, LIVER, "MANUAL") for i, name in enumerate(masks)]
        hd.seg.Segmentation(sources, labels, "LABELMAP", descriptions, generate_uid(), 300, generate_uid(), 1,
                            "tests", "synthetic", "1", "0").save_as(tmp_path / "p" / "seg.dcm")
    _, read, _ = read_ct_and_segments(tmp_path / "p")
    assert all(np.array_equal(read[name], mask) for name, mask in masks.items())


def test_cascade_datasets_from_the_engine_stage_code(tree, tmp_path, capsys):
    root, patients = tree
    before = tree_digest(root)
    out = tmp_path / "nnUNet_raw"
    assert main(["prepare-dataset", str(root), str(out), "--strategy", "cascade"]) == 0
    printed = capsys.readouterr().out
    assert tree_digest(root) == before, "SOURCE was modified"
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(CASCADE.values())

    splits = None
    for stage, name in CASCADE.items():
        folder = out / name
        dataset = json.loads((folder / "dataset.json").read_text())
        assert dataset["channel_names"] == STAGES[stage].channel_names() and dataset["labels"] == STAGES[stage].labels
        assert dataset["numTraining"] == len(USABLE)
        verify_with_nnunet(folder)
        for patient in USABLE:
            assert_case_is_the_stage_code_output(folder, stage, patient, patients[patient].ct, patients[patient].truth)
        for patient in UNUSABLE:
            assert not any(p.exists() for p in case_files(folder, STAGES[stage], patient))
        folder_splits = json.loads((folder / "splits_final.json").read_text())
        assert splits is None or folder_splits == splits, "every stage must validate on the same patients"
        splits = folder_splits

    assert len(splits) == 5
    assert sorted(itertools.chain(*(fold["val"] for fold in splits))) == USABLE
    assert all(sorted(fold["train"] + fold["val"]) == USABLE for fold in splits)

    report = json.loads((out / "flrseg_prepare_cascade.json").read_text())
    assert sorted(report["converted"]) == USABLE and report["cases"] == USABLE
    for patient, reason in UNUSABLE.items():
        assert reason in report["skipped"][patient]
        assert f"{patient}: skipped: " in printed and f"skipped {patient}: " in printed
    assert report["facts"]["CRLM-CT-1002"]["segments"]["liver_remnant"] == "flr"


def test_rerun_keeps_what_is_done_and_converts_the_rest(tree, tmp_path, capsys):
    root, patients = tree
    source = tmp_path / "source"
    shutil.copytree(root, source)
    out = tmp_path / "raw"
    main(["prepare-dataset", str(source), str(out)])
    times = {p: p.stat().st_mtime_ns for p in out.rglob("*.nii.gz")}
    capsys.readouterr()

    assert main(["prepare-dataset", str(source), str(out)]) == 0
    assert capsys.readouterr().out.count("up to date, kept") == len(USABLE)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.nii.gz")} == times

    # an interrupted run (one stage's marker missing), a patient removed and one added
    (out / CASCADE["crlm"] / "flrseg_cases" / "CRLM-CT-1002.json").unlink()
    shutil.rmtree(source / "CRLM-CT-1007")
    shutil.copytree(source / "CRLM-CT-1005", source / "CRLM-CT-1008")
    assert main(["prepare-dataset", str(source), str(out)]) == 0
    printed = capsys.readouterr().out
    assert "CRLM-CT-1002: converted" in printed and "CRLM-CT-1008: converted" in printed
    assert printed.count("up to date, kept") == len(USABLE) - 1
    rewritten = {p for p, t in times.items() if p.stat().st_mtime_ns != t}
    assert rewritten == set(case_files(out / CASCADE["crlm"], STAGES["crlm"], "CRLM-CT-1002"))
    cases = sorted(USABLE + ["CRLM-CT-1008"])
    for stage, name in CASCADE.items():
        assert json.loads((out / name / "dataset.json").read_text())["numTraining"] == len(cases)
        splits = json.loads((out / name / "splits_final.json").read_text())
        assert sorted(itertools.chain(*(fold["val"] for fold in splits))) == cases
        assert_case_is_the_stage_code_output(out / name, stage, "CRLM-CT-1008", patients["CRLM-CT-1005"].ct,
                                             patients["CRLM-CT-1005"].truth)


def test_e2e_dataset_with_region_labels_and_chosen_ids(tree, tmp_path):
    root, patients = tree
    out = tmp_path / "raw"
    assert main(["prepare-dataset", str(root), str(out), "--strategy", "e2e", "--first-id", "601"]) == 0
    folder = out / "Dataset604_FLRSegE2E"
    assert [p.name for p in out.iterdir() if p.is_dir()] == [folder.name]
    dataset = json.loads((folder / "dataset.json").read_text())
    assert dataset["labels"] == {"background": 0, "liver": [1, 2, 3], "crlm": [2], "flr": [3]}
    assert dataset["regions_class_order"] == [1, 2, 3] and dataset["channel_names"] == {"0": "CT"}
    verify_with_nnunet(folder)
    for patient in USABLE:
        assert_case_is_the_stage_code_output(folder, "e2e", patient, patients[patient].ct, patients[patient].truth)


def test_refined_labels_replace_the_dicom_seg(tree, tmp_path):
    root, patients = tree
    labels = tmp_path / "refined"
    labels.mkdir()
    refined = {}
    # 1001: a tumour refined away, saved as NIfTI with its axes flipped (the same voxels in another index order)
    array = sitk.GetArrayFromImage(patients["CRLM-CT-1001"].truth)
    array[array == 2] = 1
    refined["CRLM-CT-1001"] = sitk.GetImageFromArray(array)
    refined["CRLM-CT-1001"].CopyInformation(patients["CRLM-CT-1001"].truth)
    sitk.WriteImage(sitk.Flip(refined["CRLM-CT-1001"], [True, False, True]), str(labels / "CRLM-CT-1001.nii.gz"))
    # 1002: a Slicer segmentation; 1006: its SEG has no remnant, the refined labels have
    truth = patients["CRLM-CT-1002"].truth
    write_seg_nrrd(labels / "CRLM-CT-1002.seg.nrrd", split_label_map(sitk.GetArrayFromImage(truth)), truth)
    sitk.WriteImage(patients["CRLM-CT-1006"].truth, str(labels / "CRLM-CT-1006.nrrd"))
    refined.update({p: patients[p].truth for p in ("CRLM-CT-1002", "CRLM-CT-1006")})
    # 1004: half a voxel off the CT's grid; 1003, 1005 and 1007: no refined labels
    shifted = sitk.Image(patients["CRLM-CT-1004"].truth)
    shifted.SetOrigin(np.add(shifted.GetOrigin(), (3.0, 0, 0)))
    sitk.WriteImage(shifted, str(labels / "CRLM-CT-1004.nii"))

    out = tmp_path / "raw"
    report_before = tree_digest(labels)
    assert main(["prepare-dataset", str(root), str(out), "--labels", str(labels)]) == 0
    assert tree_digest(labels) == report_before
    report = json.loads((out / "flrseg_prepare_cascade.json").read_text())
    assert report["cases"] == sorted(refined)
    assert "do not lie on the CT's voxels" in report["skipped"]["CRLM-CT-1004"]
    for patient in ("CRLM-CT-1003", "CRLM-CT-1005", "CRLM-CT-1007"):
        assert f"no refined labels for {patient}" in report["skipped"][patient]
    for stage, name in CASCADE.items():
        for patient, label_map in refined.items():
            assert_case_is_the_stage_code_output(out / name, stage, patient, patients[patient].ct, label_map)
    assert report["facts"]["CRLM-CT-1001"]["volumes"]["crlm_ml"] == 0


ORIENTATIONS = [(p, f) for p in itertools.permutations(range(3)) for f in itertools.product([False, True], repeat=3)]


@pytest.mark.parametrize("order, flips", ORIENTATIONS)
def test_placement_puts_every_reordering_of_the_voxels_back_exactly(order, flips):
    array = np.random.default_rng(0).integers(0, 1000, (4, 5, 6)).astype(np.int16)
    target = sitk.GetImageFromArray(array)
    target.SetSpacing((0.7, 0.8, 2.5))
    target.SetOrigin((-10.0, 20.0, 5.0))
    reordered = sitk.Flip(sitk.PermuteAxes(target, order), flips)  # same physical voxels, other index order
    placement = place(ImageGrid.of_image(reordered), ImageGrid.of_image(target))
    assert placement.region == tuple(slice(0, n) for n in array.shape)
    assert np.array_equal(placement.aligned(sitk.GetArrayFromImage(reordered)), array)


def test_placement_of_a_block_and_what_it_refuses():
    target = sitk.Image(10, 8, 6, sitk.sitkUInt8)
    target.SetSpacing((1.0, 1.0, 2.0))
    block = target[2:7, 3:5, 1:4]  # slicing keeps the physical positions
    assert place(ImageGrid.of_image(block), ImageGrid.of_image(target)).region == (slice(1, 4), slice(3, 5), slice(2, 7))
    shifted = sitk.Image(block)
    shifted.SetOrigin(np.add(block.GetOrigin(), (0.5, 0, 0)))
    finer = sitk.Image(block)
    finer.SetSpacing((0.5, 1.0, 2.0))
    outside = sitk.Image(block)
    outside.SetOrigin(np.add(block.GetOrigin(), (0, 0, 20.0)))
    for image, message in ((shifted, "between CT voxel centres"), (finer, "spacing or orientation"),
                           (outside, "outside the CT")):
        with pytest.raises(OffGridError, match=message):
            place(ImageGrid.of_image(image), ImageGrid.of_image(target))


@pytest.mark.parametrize("label, role", [
    ("Liver", "liver"), ("LIVER", "liver"), ("Liver Remnant", "flr"), ("liver_remnant", "flr"),
    ("Liver-Remnant", "flr"), ("Tumor_1", "crlm"), ("tumor 12", "crlm"), ("TUMOUR-3", "crlm"), ("Hepatic", "vessel"),
    ("portal", "vessel"), ("Spleen", None), ("Liver Segment 4", None)])
def test_segment_names_match_ignoring_case_and_separators(label, role):
    assert segment_role(label) == role


@pytest.mark.parametrize("case, message", [
    ("missing source", "is not a folder"), ("out inside source", "lies inside SOURCE"), ("out is a file", "is a file"),
    ("missing labels", "--labels"), ("ids past 999", "--first-id 998"), ("no patients", "holds no patient folders")])
def test_bad_arguments_end_with_one_line_and_write_nothing(tree, tmp_path, case, message):
    root, _ = tree
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "out.txt").write_text("a file")
    argv = {"missing source": [str(tmp_path / "absent"), str(tmp_path / "out")],
            "out inside source": [str(root), str(root / "raw")],
            "out is a file": [str(root), str(tmp_path / "out.txt")],
            "missing labels": [str(root), str(tmp_path / "out"), "--labels", str(tmp_path / "absent")],
            "ids past 999": [str(root), str(tmp_path / "out"), "--first-id", "998"],
            "no patients": [str(empty), str(tmp_path / "out")]}[case]
    before = tree_digest(root)
    proc = subprocess.run([sys.executable, "-m", "FLRSegmentationLib.cli", "prepare-dataset", *argv],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("flrseg: error: ") and message in proc.stderr
    assert tree_digest(root) == before and not (tmp_path / "out").exists()
