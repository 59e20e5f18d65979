"""The command line as TotalSegmentator and nnU-Net users expect: --version, --verbose after the subcommand, every
option's help with its default, a folder of image files as one case each, progress kept off stdout, and the demo
warning of every command whose input a demo model made."""

import argparse
import json
import shutil

import pytest
import SimpleITK as sitk

from FLRSegmentationLib import __version__
from FLRSegmentationLib.cli.main import build_parser, main
from FLRSegmentationLib.imaging.ct_input import expand_inputs
from FLRSegmentationLib.imaging.provenance import segmentation_provenance
from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd
from FLRSegmentationLib.inference.progress import ProgressReporter
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.vocabulary.labels import split_label_map

DEMO = {"id": "demo-phantom", "version": "1.0.0", "demo": True, "label": "demo-phantom 1.0.0"}


def commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"flrseg {__version__}"


@pytest.mark.parametrize("argv, verbose", [(["volumetry", "s.seg.nrrd", "--verbose"], True),
                                           (["--verbose", "volumetry", "s.seg.nrrd"], True),
                                           (["volumetry", "s.seg.nrrd"], False),
                                           (["segment", "ct.nii.gz", "-o", "out", "--verbose"], True)])
def test_verbose_before_or_after_the_subcommand(argv, verbose):
    assert build_parser().parse_args(argv).verbose is verbose


def test_every_option_has_help_and_shows_its_default():
    for name, command in commands().items():
        formatter = command._get_formatter()
        for action in command._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                continue
            assert action.help, f"flrseg {name} {action.option_strings or action.dest} has no help"
            flag = action.nargs == 0 and not isinstance(action, argparse.BooleanOptionalAction)
            if action.option_strings and action.default not in (None, argparse.SUPPRESS) and not flag:
                shown = formatter._get_help_string(action) % {"default": action.default}
                assert "default" in shown, f"flrseg {name} {action.option_strings}: '{shown}'"


def test_a_folder_of_images_is_one_case_per_file_and_a_dicom_folder_one_series(tmp_path, real_data):
    folder = tmp_path / "cts"
    folder.mkdir()
    for name in ("b.nii.gz", "a.nrrd", "c.mha"):
        sitk.WriteImage(sitk.Image([4, 4, 4], sitk.sitkInt16), str(folder / name))
    (folder / "notes.txt").write_text("not an image")
    (folder / "old.seg.nrrd").write_text("a segmentation, not a CT")
    dicom = tmp_path / "DICOM"
    dicom.mkdir()
    for source in sorted((real_data / "dcmqi-ct-3slice").glob("0*.dcm")):
        shutil.copy(source, dicom / source.name)
    single = folder / "a.nrrd"
    assert expand_inputs([folder, dicom, single]) == [folder / "a.nrrd", folder / "b.nii.gz", folder / "c.mha",
                                                     dicom, single]


def test_progress_auto_is_nothing_when_stderr_is_not_a_terminal(capsys):
    reporter = ProgressReporter("auto")  # pytest captures stderr: not a terminal
    reporter("liver", 0.5, "stage 1")
    assert reporter.mode == "none" and capsys.readouterr() == ("", "")
    ProgressReporter("lines")("liver", 0.5, "stage 1")
    assert capsys.readouterr().out.startswith("FLRSEG_PROGRESS ")


@pytest.fixture
def demo_made(tmp_path):
    """A phantom's true segmentation written as if the demo model had made it."""
    _, truth = make_phantom(4)
    path = tmp_path / "case.seg.nrrd"
    write_seg_nrrd(path, split_label_map(sitk.GetArrayFromImage(truth)), truth,
                   segmentation_provenance(DEMO, "cascade", "case.nii.gz", truth, __version__))
    return path


def test_volumetry_pve_and_resect_warn_when_a_demo_model_made_the_input(demo_made, tmp_path, capsys):
    runs = {"volumetry": ["volumetry", str(demo_made)],
            "pve": ["pve", str(demo_made), str(demo_made), "--weeks", "3", "--height-cm", "170", "--weight-kg", "70"]}
    plan = tmp_path / "plan.json"
    assert main(["resect", str(demo_made), "--init", str(plan)]) == 0
    runs["resect"] = ["resect", str(demo_made), str(plan), "-o", str(tmp_path / "out")]
    capsys.readouterr()
    for name, argv in runs.items():
        assert main(argv) == 0, name
        captured = capsys.readouterr()
        assert "NOT FOR CLINICAL USE (made by demo-phantom 1.0.0)" in captured.err, name
        assert "NOT FOR CLINICAL USE" not in captured.out, name  # stdout: the table only
    assert json.loads((tmp_path / "out" / "case_resection.json").read_text())["liver_ml"] > 0
