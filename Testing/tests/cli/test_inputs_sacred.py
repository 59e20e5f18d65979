"""Inputs are sacred: no output (folder or file) of segment, volumetry or evaluate may replace or sit inside an
input or a reference, checked before anything runs; volumetry's exports are all written or none."""

import hashlib
import shutil

import numpy as np
import pytest
import SimpleITK as sitk

from FLRSegmentationLib.cli.main import main
from FLRSegmentationLib.research.phantom import make_phantom


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line_error(code, capsys, *expected):
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert all(text in err[0] for text in expected), err[0]


@pytest.fixture
def batch_folder(tmp_path):
    """A.nii.gz, B.nii.gz and A_seg.nii.gz (someone's reference labels of A), all inputs of one batch."""
    folder = tmp_path / "cases"
    folder.mkdir()
    ct, labels = make_phantom(1, base_spacing=8.0)
    sitk.WriteImage(ct, str(folder / "A.nii.gz"))
    sitk.WriteImage(ct, str(folder / "B.nii.gz"))
    sitk.WriteImage(labels, str(folder / "A_seg.nii.gz"))
    return folder


def test_a_batch_never_overwrites_its_own_input(batch_folder, capsys):
    before = snapshot(batch_folder)
    inputs = [str(batch_folder / n) for n in ("A.nii.gz", "B.nii.gz", "A_seg.nii.gz")]
    code = main(["segment", *inputs, "-o", str(batch_folder), "--device", "cpu"])
    one_line_error(code, capsys, "A_seg.nii.gz", "would overwrite")
    assert snapshot(batch_folder) == before


def test_an_output_folder_inside_an_input_folder_is_refused(tmp_path, real_data, capsys):
    dicom = tmp_path / "DICOMDIR"
    shutil.copytree(real_data / "dcmqi-ct-3slice", dicom, ignore=shutil.ignore_patterns("liver*"))
    before = snapshot(dicom)
    for out in (dicom, dicom / "out"):
        code = main(["segment", str(dicom), "-o", str(out), "--device", "cpu"])
        one_line_error(code, capsys, "output folder", "DICOMDIR")
    assert snapshot(dicom) == before


@pytest.fixture
def seg_file(tmp_path):
    liver = np.zeros((12, 12, 12), np.uint8)
    liver[1:11, 1:11, 1:11] = 1
    liver[1:11, 1:11, 1:4] = 3
    path = tmp_path / "LAB.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(liver), str(path))
    return path


def test_volumetry_exports_never_replace_an_input(tmp_path, seg_file, capsys):
    before = digest(seg_file)
    screenshot = tmp_path / "shot.png"
    screenshot.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 10)
    for option, target in (("--json", seg_file), ("--csv", seg_file), ("--html", screenshot)):
        extra = ["--html", str(tmp_path / "r.html"), "--screenshot", str(screenshot)] if option != "--html" else \
            ["--screenshot", str(screenshot)]
        code = main(["volumetry", str(seg_file), option, str(target), *extra])
        one_line_error(code, capsys, option, "would overwrite")
    assert digest(seg_file) == before and not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("bad", ["missing", "directory"])
def test_volumetry_exports_are_all_or_nothing(tmp_path, seg_file, capsys, bad):
    (tmp_path / "folder.json").mkdir()
    target = tmp_path / "missing" / "r.csv" if bad == "missing" else tmp_path / "folder.json"
    option = "--csv" if bad == "missing" else "--json"
    other = ("--json", tmp_path / "r.json") if option == "--csv" else ("--csv", tmp_path / "r.csv")
    code = main(["volumetry", str(seg_file), other[0], str(other[1]), option, str(target)])
    one_line_error(code, capsys, option)
    assert not other[1].exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["LAB.nii.gz", "folder.json"]


def test_volumetry_writes_all_exports_together(tmp_path, seg_file, capsys):
    outputs = [tmp_path / "r.json", tmp_path / "r.csv", tmp_path / "r.html"]
    code = main(["volumetry", str(seg_file), "--json", str(outputs[0]), "--csv", str(outputs[1]),
                 "--html", str(outputs[2])])
    assert code == 0 and all(p.is_file() for p in outputs)
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_evaluate_never_writes_into_the_reference_or_prediction_folder(tmp_path, seg_file, capsys):
    ref, pred = tmp_path / "ref", tmp_path / "pred"
    ref.mkdir()
    pred.mkdir()
    shutil.copy(seg_file, ref / "c1.nii.gz")
    shutil.copy(seg_file, pred / "c1_seg.nii.gz")
    before = snapshot(tmp_path)
    for option, target in (("--csv", ref / "scores.csv"), ("--markdown", pred / "t.md"), ("--csv", ref / "c1.nii.gz")):
        code = main(["evaluate", str(pred), str(ref), option, str(target)])
        one_line_error(code, capsys, option, "would overwrite or write inside")
    assert snapshot(tmp_path) == before
