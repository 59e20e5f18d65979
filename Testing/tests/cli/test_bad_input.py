"""Every bad input to `flrseg segment` ends with one clear line, exit code 2, no traceback and no output."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
import torch

from FLRSegmentationLib.cli.main import main
from FLRSegmentationLib.research.phantom import make_phantom


@pytest.fixture(scope="module")
def good_ct(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "good.nrrd"
    sitk.WriteImage(make_phantom(1)[0], str(path))
    return path


def two_series_folder(real_data, folder):
    folder.mkdir()
    for series in range(2):
        uid = pydicom.uid.generate_uid()
        for src in sorted((real_data / "dcmqi-ct-3slice").glob("0*.dcm")):
            ds = pydicom.dcmread(src)
            ds.SeriesInstanceUID = uid
            ds.SOPInstanceUID = pydicom.uid.generate_uid()
            ds.SeriesDescription = f"series {series}"
            ds.save_as(folder / f"{series}_{src.name}")
    return folder


def bad_inputs(tmp, good_ct, real_data):
    """(name, argv tail, text the message must contain)."""
    (tmp / "text.nii.gz").write_text("not an image")
    truncated = tmp / "cut.nrrd"
    data = good_ct.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    sitk.WriteImage(sitk.Image(32, 32, sitk.sitkInt16), str(tmp / "flat.nrrd"))
    sitk.WriteImage(sitk.Image([16, 16, 8], sitk.sitkVectorUInt8, 3), str(tmp / "rgb.nrrd"))
    (tmp / "empty_dicom").mkdir()
    two_series_folder(real_data, tmp / "two_series")
    (tmp / "not_a_package").mkdir()
    return [
        ("missing", [str(tmp / "absent.nii.gz")], "absent.nii.gz"),
        ("unreadable", [str(tmp / "text.nii.gz")], "text.nii.gz"),
        ("truncated", [str(truncated)], "truncated"),
        ("2d", [str(tmp / "flat.nrrd")], "2D"),
        ("rgb", [str(tmp / "rgb.nrrd")], "rgb.nrrd"),
        ("empty dicom folder", [str(tmp / "empty_dicom")], "empty_dicom"),
        ("several series", [str(tmp / "two_series")], "series"),
        ("model path not a package", [str(good_ct), "--model", str(tmp / "not_a_package")], "not a model package"),
        ("unknown model id", [str(good_ct), "--model", "no-such-model"], "unknown model id"),
    ]


def run_cli(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err


def assert_one_clear_line(code, err, expected):
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("flrseg: error: ") and expected in lines[0]
    assert "Traceback" not in err


def test_each_bad_input(tmp_path, good_ct, real_data, capsys):
    for name, tail, expected in bad_inputs(tmp_path, good_ct, real_data):
        out = tmp_path / f"out_{name.replace(' ', '_')}"
        code, err = run_cli(["segment", *tail[:1], "-o", str(out), "--device", "cpu", *tail[1:]], capsys)
        assert_one_clear_line(code, err, expected)
        assert not out.exists(), f"{name}: output folder was created"


def test_stage_whose_channels_do_not_match(tmp_path, good_ct, demo_package, capsys):
    package = tmp_path / "pkg"
    shutil.copytree(demo_package, package)
    manifest = json.loads((package / "manifest.json").read_text())
    manifest["stages"]["flr"]["input_channels"] = ["CT", "liver"]
    (package / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "out"
    code, err = run_cli(["segment", str(good_ct), "-o", str(out), "--device", "cpu", "--model", str(package)], capsys)
    assert_one_clear_line(code, err, "stage 'flr' expects input channels")
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the refusal can't happen here")
def test_cuda_requested_without_cuda(tmp_path, good_ct, capsys):
    out = tmp_path / "out"
    code, err = run_cli(["segment", str(good_ct), "-o", str(out), "--device", "cuda"], capsys)
    assert_one_clear_line(code, err, "--device cuda")
    assert not out.exists()


def test_a_later_bad_input_stops_the_run_before_the_first_is_written(tmp_path, good_ct, capsys):
    out = tmp_path / "out"
    code, err = run_cli(["segment", str(good_ct), str(tmp_path / "absent.nrrd"), "-o", str(out)], capsys)
    assert_one_clear_line(code, err, "absent.nrrd")
    assert not out.exists()


def test_the_installed_command_exits_2_with_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "FLRSegmentationLib.cli", "segment", str(tmp_path / "none.nii.gz"),
                           "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert_one_clear_line(proc.returncode, proc.stderr, "none.nii.gz")
    assert proc.stdout == "" and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", [[], ["segment"], ["demo"], ["phantom"], ["volumetry"], ["pve"]])
def test_help_of_every_command(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0 and "usage: flrseg" in capsys.readouterr().out


def test_output_path_that_is_a_file_is_refused_before_work(tmp_path, good_ct, capsys):
    taken = tmp_path / "taken"
    taken.write_text("a file, not a folder")
    code, err = run_cli(["segment", str(good_ct), "-o", str(taken), "--device", "cpu"], capsys)
    assert_one_clear_line(code, err, "is a file")
    assert taken.read_text() == "a file, not a folder"
