"""`flrseg train` runs nnunetv2's real planning, preprocessing and training; `flrseg export` packages the result,
which opens with `packages.open_package` and runs in `flrseg segment --model PACKAGE.zip`.

The E2E stage is trained on three coarse phantoms (10 mm voxels) with a two-fold patient split and the
two-iteration smoke trainer, so it runs in about two minutes: it proves the pipeline, not learning. The export
joins it with the committed demo cascade's nnUNetv2_export_model_to_zip zips, so both kinds of source and both
strategies are exercised.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
import SimpleITK as sitk

from FLRSegmentationLib.cli.main import main
from FLRSegmentationLib.models.packages import open_package
from FLRSegmentationLib.research.nnunet_dataset import write_stage_dataset
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.vocabulary.stages import STAGES

DATASET = "Dataset951_FLRTestE2E"
TRAINER = "nnUNetTrainerFLRDemoSmoke"
MODEL = f"{TRAINER}__nnUNetPlans__3d_fullres"
SPLITS = [{"train": ["p0", "p1"], "val": ["p2"]}, {"train": ["p1", "p2"], "val": ["p0"]}]
NNUNET_FOLDERS = ("nnUNet_raw", "nnUNet_preprocessed", "nnUNet_results")


def phantoms(n, first_seed=2000):
    return [(f"p{i}", *make_phantom(first_seed + i, base_spacing=10.0)) for i in range(n)]


@pytest.fixture(autouse=True)
def no_user_nnunet_folders(monkeypatch):
    for name in NNUNET_FOLDERS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`flrseg train` of fold 0, as a user runs it (a real subprocess)."""
    work = tmp_path_factory.mktemp("train")
    raw = write_stage_dataset(work / "raw" / DATASET, STAGES["e2e"], phantoms(3), "flrseg train test")
    (raw / "splits_final.json").write_text(json.dumps(SPLITS))
    env = {k: v for k, v in os.environ.items() if k not in NNUNET_FOLDERS}
    env.update(nnUNet_n_proc_DA="1", nnUNet_def_n_proc="1", nnUNet_compile="false")
    proc = subprocess.run([sys.executable, "-m", "FLRSegmentationLib.cli", "train", str(raw), "--stage", "e2e",
                           "--trainer", TRAINER, "--fold", "0", "--device", "cpu", "--processes", "1"],
                          env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work, proc.stdout


def test_train_prints_and_runs_nnunetv2s_own_commands_on_the_patient_split(trained):
    work, out = trained
    commands = [line for line in out.splitlines() if line.startswith("+ ")]
    assert commands[0].endswith("nnUNetv2_plan_and_preprocess -d 951 -c 3d_fullres -np 1 -npfp 1 "
                                "--verify_dataset_integrity")
    assert commands[1].endswith(f"nnUNetv2_train {DATASET} 3d_fullres 0 -tr {TRAINER} -p nnUNetPlans -device cpu")
    assert len(commands) == 2
    assert f"export nnUNet_raw={work / 'raw'}" in out  # the settings to rerun the commands by hand
    model = work / "nnUNet_results" / DATASET / MODEL
    assert (model / "fold_0" / "checkpoint_final.pth").is_file()
    # nnU-Net trained on the dataset's patient split: fold 0 validated on p2 alone
    assert json.loads((work / "nnUNet_preprocessed" / DATASET / "splits_final.json").read_text()) == SPLITS
    assert sorted(p.name for p in (model / "fold_0" / "validation").glob("*.nii.gz")) == ["p2.nii.gz"]


def test_a_rerun_resumes_and_runs_nothing_twice(trained, capsys):
    work, _ = trained
    assert main(["train", str(work / "raw" / DATASET), "--stage", "e2e", "--trainer", TRAINER, "--fold", "0",
                 "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "already planned and preprocessed" in out and "fold 0 is trained already" in out
    assert not [line for line in out.splitlines() if line.startswith("+ ")]


def test_dry_run_checks_and_prints_every_fold_and_writes_nothing(tmp_path, capsys):
    raw = write_stage_dataset(tmp_path / "raw" / "Dataset952_FLRTestCRLM", STAGES["crlm"], phantoms(2), "dry run")
    assert main(["train", str(raw), "--stage", "crlm", "--device", "cpu", "--dry-run"]) == 0
    out = capsys.readouterr().out
    trains = [line for line in out.splitlines() if "nnUNetv2_train " in line]
    assert [line.split()[4] for line in trains] == ["0", "1", "2", "3", "4"]
    assert all("-tr nnUNetTrainer -p nnUNetPlans" in line for line in trains)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


def assert_one_line_error(code, err, expected):
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("flrseg: error: ") and expected in lines[0], err


def test_bad_train_requests_are_one_line_errors_before_any_work(tmp_path, capsys):
    raw = write_stage_dataset(tmp_path / "raw" / "Dataset953_FLRTestLiver", STAGES["liver"], phantoms(2), "bad")
    for argv, expected in [
        ([str(raw), "--stage", "flr"], "holds the 'liver' stage's data, not 'flr'"),
        ([str(raw), "--stage", "liver", "--trainer", "nnUNetTrainerNoSuchThing"], "--trainer nnUNetTrainerNoSuchThing"),
        ([str(raw), "--stage", "liver", "--fold", "7"], "--fold 7"),
        ([str(tmp_path / "raw"), "--stage", "liver"], "DatasetXXX_Name"),
        (["953", "--stage", "liver"], "set nnUNet_raw"),
    ]:
        code = main(["train", *argv, "--device", "cpu"])
        assert_one_line_error(code, capsys.readouterr().err, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


@pytest.fixture(scope="module")
def package(trained, demo_package, tmp_path_factory):
    work, _ = trained
    out = tmp_path_factory.mktemp("export") / "models" / "test-model.zip"
    cascade = [demo_package / f"{stage}.zip" for stage in ("liver", "crlm", "flr")]
    sources = [work / "nnUNet_results" / DATASET / MODEL, *cascade]
    assert main(["export", *map(str, sources), "-o", str(out), "--id", "test-model", "--version", "0.1.0",
                 "--title", "Test model", "--license", "Apache-2.0"]) == 0
    return out


def test_export_writes_a_package_that_opens_with_its_manifest_and_checksums(package, tmp_path):
    opened = open_package(package, tmp_path)
    manifest = opened.manifest
    assert (manifest["id"], manifest["version"], manifest["title"], manifest["demo"]) == ("test-model", "0.1.0",
                                                                                           "Test model", False)
    assert manifest["strategies"] == {"cascade": ["liver", "crlm", "flr"], "e2e": ["e2e"]}
    e2e = manifest["stages"]["e2e"]
    assert (e2e["trainer"], e2e["folds"], e2e["input_channels"]) == (TRAINER, [0], ["CT"])
    assert manifest["stages"]["liver"]["trainer"] == "nnUNetTrainerFLRDemo"
    assert manifest["training"]["datasets"]["e2e"] == DATASET
    assert sorted(manifest["files"]) == ["crlm.zip", "e2e.zip", "flr.zip", "liver.zip"]
    with zipfile.ZipFile(opened.root / "e2e.zip") as zf:  # only what inference needs, and the fold's scores
        assert sorted(n.split(f"{MODEL}/")[1] for n in zf.namelist()) == [
            "dataset.json", "dataset_fingerprint.json", "fold_0/checkpoint_final.pth",
            "fold_0/validation/summary.json", "plans.json"]
    assert not [p for p in package.parent.iterdir() if p != package]  # no temporary file left beside it


@pytest.mark.parametrize("strategy", ["e2e", "cascade"])
def test_the_exported_package_runs_in_flrseg_segment(package, tmp_path, strategy, capsys):
    ct, _ = make_phantom(9001)
    sitk.WriteImage(ct, str(tmp_path / "ph.nii.gz"))
    out = tmp_path / "out"
    assert main(["segment", str(tmp_path / "ph.nii.gz"), "-o", str(out), "--model", str(package), "--strategy",
                 strategy, "--device", "cpu", "--fast", "--progress", "none"]) == 0
    report = json.loads((out / "ph_report.json").read_text())
    assert (report["model"]["id"], report["strategy"]) == ("test-model", strategy)
    labels = sitk.ReadImage(str(out / "ph_seg.nii.gz"))
    assert labels.GetSize() == ct.GetSize() and labels.GetOrigin() == pytest.approx(ct.GetOrigin())


def test_bad_export_requests_are_one_line_errors_and_write_nothing(trained, demo_package, tmp_path, capsys):
    work, _ = trained
    model = work / "nnUNet_results" / DATASET / MODEL
    unfinished = tmp_path / "unfinished" / MODEL
    shutil.copytree(model, unfinished, ignore=shutil.ignore_patterns("validation"))
    (unfinished / "fold_1").mkdir()
    (unfinished / "fold_1" / "checkpoint_latest.pth").write_bytes(b"not finished")
    damaged = tmp_path / "damaged" / MODEL
    shutil.copytree(model, damaged, ignore=shutil.ignore_patterns("validation"))
    (damaged / "fold_0" / "checkpoint_final.pth").write_bytes(b"not a checkpoint")
    out = tmp_path / "out" / "pkg.zip"
    taken = tmp_path / "taken.zip"
    taken.write_bytes(b"someone's file")
    crlm, liver = str(demo_package / "crlm.zip"), str(demo_package / "liver.zip")
    for sources, extra, expected in [
        ([crlm], [], "make no complete strategy"),
        ([liver, liver], [], "are both a 'liver' stage"),
        ([str(unfinished)], [], "fold_1 has no checkpoint_final.pth"),
        ([str(work / "raw" / DATASET)], [], "expected one trained nnU-Net model folder"),
        ([str(model)], ["--id", "../evil"], "--id '../evil'"),
        ([str(damaged)], [], "the exported package does not load"),
    ]:
        code = main(["export", *sources, "-o", str(out), "--version", "1", *(extra or ["--id", "m"])])
        assert_one_line_error(code, capsys.readouterr().err, expected)
        assert not out.parent.exists() or not list(out.parent.iterdir())
    code = main(["export", str(model), "-o", str(taken), "--id", "m", "--version", "1"])
    assert_one_line_error(code, capsys.readouterr().err, "exists")
    assert taken.read_bytes() == b"someone's file"


@pytest.mark.parametrize("command", ["train", "export", "evaluate"])
def test_help_of_the_research_commands(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0 and f"usage: flrseg {command}" in capsys.readouterr().out
