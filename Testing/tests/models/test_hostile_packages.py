"""Hostile and damaged packages, built here from the demo package and rehashed so every sha256 matches: plans that
name code, files the manifest does not list, malformed manifests, zip bombs and ambiguous zips are refused with one
line naming the cause, before any network is built."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from FLRSegmentationLib.cli.main import main
from FLRSegmentationLib.errors import ModelError
from FLRSegmentationLib.models import packages
from FLRSegmentationLib.models.packages import open_package, safe_extract, write_manifest
from FLRSegmentationLib.research.model_export import read_trained_stage

REPO = Path(__file__).resolve().parents[3]
STUNET_PACKAGE = REPO / "Models" / "demo-phantom-stunet"


def copy_package(src, tmp_path, name="pkg"):
    dst = tmp_path / name
    shutil.copytree(src, dst)
    return dst


def manifest_of(folder):
    return json.loads((folder / "manifest.json").read_text())


def rehash(folder, change=lambda m: None):
    """What an attacker does: change the package, then write a manifest whose sha256 all match."""
    manifest = manifest_of(folder)
    change(manifest)
    write_manifest(folder, manifest)


def edit_stage_zip(package, stage, edit):
    """Unzip a stage, let `edit(model_folder)` change it, zip it again in place."""
    archive = package / f"{stage}.zip"
    work = package.parent / f"edit-{stage}"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(work)
    folder = next(p.parent for p in work.rglob("plans.json"))
    edit(folder)
    archive.unlink()
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(work.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(work).as_posix())
    shutil.rmtree(work)


def edit_plans(change):
    def edit(folder):
        plans = json.loads((folder / "plans.json").read_text())
        change(plans["configurations"]["3d_fullres"])
        (folder / "plans.json").write_text(json.dumps(plans))
    return edit


def os_system_dropout(marker):
    def change(configuration):
        kwargs = configuration["architecture"]["arch_kwargs"]
        kwargs["dropout_op"] = "os.system"
        kwargs["dropout_op_kwargs"] = {"command": f"touch {marker}"}
    return change


@pytest.fixture
def hostile(demo_package, tmp_path):
    """The demo package whose liver plans make nnU-Net call os.system('touch MARKER'), manifest rehashed."""
    marker = tmp_path / "pwned"
    pkg = copy_package(demo_package, tmp_path)
    edit_stage_zip(pkg, "liver", edit_plans(os_system_dropout(marker)))
    rehash(pkg)
    return pkg, marker


def test_a_plan_naming_os_system_is_refused_before_any_network_is_built(hostile, tmp_path):
    pkg, marker = hostile
    package = open_package(pkg, tmp_path / "u")  # every sha256 matches
    with pytest.raises(ModelError, match="plans field 'architecture.arch_kwargs.dropout_op' names 'os.system'"):
        package.stage("liver", tmp_path / "u" / "stages")
    assert not marker.exists()


def test_flrseg_segment_with_the_hostile_package_exits_2_and_runs_nothing(hostile, tmp_path):
    pkg, marker = hostile
    from FLRSegmentationLib.research.phantom import make_phantom
    import SimpleITK as sitk
    ct = tmp_path / "ct.nrrd"
    sitk.WriteImage(make_phantom(1, base_spacing=8.0)[0], str(ct))
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "FLRSegmentationLib.cli", "segment", str(ct), "-o",
                           str(tmp_path / "out"), "--model", str(pkg), "--device", "cpu"],
                          capture_output=True, text=True, env=env, timeout=300)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "dropout_op" in lines[0], proc.stderr
    assert not marker.exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("field, value, named", [
    ("network_class_name", "subprocess.Popen", "architecture.network_class_name"),
    ("conv_op", "builtins.eval", "architecture.arch_kwargs.conv_op"),
    ("nonlin", "torch.hub.load", "architecture.arch_kwargs.nonlin"),
    ("norm_op_kwargs", {"eps": 1e-5, "device": "cuda"}, "architecture.arch_kwargs.norm_op_kwargs.device"),
    ("nonlin_kwargs", {"negative_slope": "x"}, "architecture.arch_kwargs.nonlin_kwargs.negative_slope"),
    ("block", "os.system", "architecture.arch_kwargs.block"),
    ("_kw_requires_import", ["conv_op", "n_stages"], "architecture._kw_requires_import"),
    ("patch_size", [40, 0, 80], "patch_size"),
    ("spacing", [5.0, 0, 4.0], "spacing"),
    ("preprocessor_name", "../../evil", "preprocessor_name"),
    ("resampling_fn_data", "os.system", "resampling_fn_data"),
])
def test_every_name_and_kwargs_dict_of_a_plan_is_allow_listed(demo_package, tmp_path, field, value, named):
    def change(configuration):
        architecture = configuration["architecture"]
        if field == "network_class_name" or field == "_kw_requires_import":
            architecture[field] = value
        elif field in architecture["arch_kwargs"] or field == "block":
            architecture["arch_kwargs"][field] = value
        else:
            configuration[field] = value
    pkg = copy_package(demo_package, tmp_path)
    edit_stage_zip(pkg, "liver", edit_plans(change))
    rehash(pkg)
    with pytest.raises(ModelError, match=f"plans field '{named}'"):
        open_package(pkg, tmp_path / "u").stage("liver", tmp_path / "u" / "stages")


def test_stunet_stages_and_export_check_plans_too(tmp_path):
    marker = tmp_path / "pwned"
    pkg = copy_package(STUNET_PACKAGE, tmp_path)
    crlm = manifest_of(pkg)["stages"]["crlm"]
    assert crlm["trainer"].startswith("STUNetTrainer")
    edit_stage_zip(pkg, "crlm", edit_plans(os_system_dropout(marker)))
    rehash(pkg)
    with pytest.raises(ModelError, match="dropout_op"):
        open_package(pkg, tmp_path / "u").stage("crlm", tmp_path / "u" / "stages")
    with pytest.raises(ModelError, match="dropout_op"):  # `flrseg export` reads it before writing anything
        read_trained_stage(pkg / "crlm.zip")
    out = tmp_path / "exported" / "m.zip"
    code = main(["export", *(str(pkg / f"{s}.zip") for s in ("liver", "crlm", "flr")), "-o", str(out), "--id", "m",
                 "--version", "1"])
    assert code == 2 and not out.parent.exists()
    assert not marker.exists()


def test_a_trainer_name_that_is_not_a_trainer_is_refused(demo_package, tmp_path):
    pkg = copy_package(demo_package, tmp_path)
    rehash(pkg, lambda m: m["stages"]["liver"].update(trainer="*"))
    with pytest.raises(ModelError, match="trainer '\\*' is not an nnUNetTrainer"):
        open_package(pkg, tmp_path / "u")


def test_stage_files_outside_or_unlisted_are_refused(demo_package, tmp_path):
    outside = copy_package(demo_package, tmp_path, "outside")
    for name, file, expected in [("abs", str(outside / "liver.zip"), "leaves the package"),
                                 ("dots", "../outside/liver.zip", "leaves the package")]:
        pkg = copy_package(demo_package, tmp_path, name)
        rehash(pkg, lambda m: m["stages"]["liver"].update(file=file))
        with pytest.raises(ModelError, match=expected):
            open_package(pkg, tmp_path / name / "u")
    pkg = copy_package(demo_package, tmp_path, "unlisted")
    shutil.copy(pkg / "liver.zip", pkg / "liver2.zip")
    rehash(pkg, lambda m: m["stages"]["liver"].update(file="liver2.zip"))
    edit_stage_zip(pkg, "liver2", edit_plans(lambda c: None))  # changed after hashing, and dropped from files
    edit = manifest_of(pkg)
    edit["files"].pop("liver2.zip")
    (pkg / "manifest.json").write_text(json.dumps(edit))
    with pytest.raises(ModelError, match="'liver2.zip' is not listed"):
        open_package(pkg, tmp_path / "unlisted" / "u")
    pkg = copy_package(demo_package, tmp_path, "link")
    os.symlink(outside / "liver.zip", pkg / "link.zip")
    manifest = manifest_of(pkg)
    manifest["stages"]["liver"]["file"] = "link.zip"
    (pkg / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="'link.zip' is not listed"):
        open_package(pkg, tmp_path / "link" / "u")
    manifest["stages"]["liver"].update(file="liver.zip", checkpoint="../../../x.pth")
    (pkg / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="'checkpoint' must be a plain file name"):
        open_package(pkg, tmp_path / "link" / "u")


@pytest.mark.parametrize("change, expected", [
    (lambda m: m["stages"]["liver"].pop("file"), "stage 'liver'.*lacks 'file'"),
    (lambda m: m["stages"]["liver"].pop("trainer"), "lacks 'trainer'"),
    (lambda m: m["stages"]["liver"].pop("labels"), "lacks 'labels'"),
    (lambda m: m["stages"]["liver"].pop("input_channels"), "lacks 'input_channels'"),
    (lambda m: m["stages"]["liver"].pop("checkpoint"), "lacks 'checkpoint'"),
    (lambda m: m.update(strategies=["cascade"]), "'strategies' must be a dict"),
    (lambda m: m.update(files=["liver.zip"]), "'files' must be a dict"),
    (lambda m: m["stages"].update(liver=None), "stage 'liver'.*must be a dict"),
    (lambda m: m["stages"]["liver"].update(folds=[]), "'folds' must be a non-empty list"),
    (lambda m: m["files"].update({"MODEL_CARD.md": "abc"}), "must map to a sha256"),
])
def test_malformed_manifests_name_their_cause(demo_package, tmp_path, change, expected):
    pkg = copy_package(demo_package, tmp_path)
    manifest = manifest_of(pkg)
    change(manifest)
    (pkg / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=expected):
        open_package(pkg, tmp_path / "u")


@pytest.mark.parametrize("edit, expected", [
    (lambda f: (f / "plans.json").write_text("{not json"), "plans.json is not valid JSON"),
    (lambda f: (f / "dataset.json").write_text("[1, 2"), "dataset.json is not valid JSON"),
    (lambda f: (f / "dataset.json").write_text(json.dumps(
        {"modality": {"0": "CT"}, "labels": {"background": 0, "liver": 1}})), "no 'channel_names'"),
])
def test_invalid_plans_or_dataset_json_are_refused(demo_package, tmp_path, edit, expected):
    pkg = copy_package(demo_package, tmp_path)
    edit_stage_zip(pkg, "liver", edit)
    rehash(pkg)
    with pytest.raises(ModelError, match=expected):
        open_package(pkg, tmp_path / "u").stage("liver", tmp_path / "u" / "stages")


def test_duplicate_names_and_file_folder_clash_are_refused(tmp_path):
    twice = tmp_path / "twice.zip"
    with zipfile.ZipFile(twice, "w") as zf:
        zf.writestr("a/plans.json", "{}")
        with pytest.warns(UserWarning):
            zf.writestr("a/plans.json", '{"evil": 1}')
    with pytest.raises(ModelError, match="holds 'a/plans.json' twice"):
        safe_extract(twice, tmp_path / "t1")
    clash = tmp_path / "clash.zip"
    with zipfile.ZipFile(clash, "w") as zf:
        zf.writestr("a", "file")
        zf.writestr("a/b.json", "{}")
    with pytest.raises(ModelError, match="'a' is both a file and a folder"):
        safe_extract(clash, tmp_path / "t2")
    assert not (tmp_path / "t1").exists() and not (tmp_path / "t2").exists()


def test_a_zip_bomb_is_refused_before_unpacking(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * (80 * 2 ** 20))
    assert bomb.stat().st_size < 2 ** 20
    with pytest.raises(ModelError, match="refusing to unpack"):
        safe_extract(bomb, tmp_path / "t")
    assert not (tmp_path / "t").exists()
    monkeypatch.setattr(packages, "MAX_UNPACKED_BYTES", 2 ** 20)
    with pytest.raises(ModelError, match="FLRSEG_MAX_UNPACKED_GB"):
        safe_extract(bomb, tmp_path / "t")
