"""The committed mixed package demo-phantom-stunet (nnU-Net liver and FLR, STU-Net CRLM) in `flrseg segment`:
accuracy on unseen phantoms, and a size too big for the memory refused before anything is written."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from FLRSegmentationLib.models.packages import MANIFEST, load_registry, open_package, write_manifest
from FLRSegmentationLib.models.stunet.network import is_stunet_trainer
from FLRSegmentationLib.research.demo_models import dice
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.vocabulary.labels import split_label_map

REPO = Path(__file__).resolve().parents[3]
PACKAGE_ID = "demo-phantom-stunet"
PACKAGE = REPO / "Models" / PACKAGE_ID
UNSEEN_SEEDS = (9001, 9002, 9003, 9004)  # trained on seeds 1000-1015
TARGETS = {"liver": 0.90, "crlm": 0.70, "flr": 0.80}


def flrseg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "FLRSegmentationLib.cli", *args], capture_output=True, text=True,
                          timeout=900)


def test_package_mixes_nnunet_and_stunet_stages_and_stays_small(tmp_path):
    package = open_package(PACKAGE, tmp_path)  # every sha256 checked
    trainers = {name: entry["trainer"] for name, entry in package.manifest["stages"].items()}
    assert is_stunet_trainer(trainers["crlm"])
    assert not is_stunet_trainer(trainers["liver"]) and not is_stunet_trainer(trainers["flr"])
    assert package.is_demo and "NOT FOR CLINICAL USE" in (PACKAGE / "MODEL_CARD.md").read_text()
    assert sum(p.stat().st_size for p in PACKAGE.iterdir()) < 2 * 1024 * 1024
    entry = {e["id"]: e for e in load_registry()}[PACKAGE_ID]
    assert entry["path"] == PACKAGE_ID and entry["strategies"] == ["cascade"]


@pytest.fixture(scope="module")
def segmented(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stunet-run")
    paths, truths = [], {}
    for seed in UNSEEN_SEEDS:
        ct, truths[f"phantom{seed}"] = make_phantom(seed)
        paths.append(tmp / f"phantom{seed}.nrrd")
        sitk.WriteImage(ct, str(paths[-1]), useCompression=True)
    done = flrseg("segment", *map(str, paths), "-o", str(tmp / "out"), "--model", PACKAGE_ID, "--device", "cpu",
                  "--progress", "none")
    assert done.returncode == 0, done.stderr
    return tmp / "out", truths


def test_flrseg_segment_with_the_mixed_package_reaches_the_dice_targets(segmented):
    out, truths = segmented
    scores = {name: [] for name in TARGETS}
    for case, truth in truths.items():
        predicted = split_label_map(sitk.GetArrayFromImage(sitk.ReadImage(str(out / f"{case}_seg.nii.gz"))))
        expected = split_label_map(sitk.GetArrayFromImage(truth))
        for name in TARGETS:
            scores[name].append(dice(predicted[name], expected[name]))
        report = json.loads((out / f"{case}_report.json").read_text())
        assert report["model"]["id"] == PACKAGE_ID and report["model"]["demo"]
        assert set(report["stage_seconds"]) == {"liver", "crlm", "flr"}
    means = {name: float(np.mean(values)) for name, values in scores.items()}
    print(means)
    assert all(means[name] >= target for name, target in TARGETS.items()), means


def test_a_stunet_stage_too_big_for_the_memory_is_refused_before_anything_is_written(tmp_path):
    """The same package with the CRLM stage's patch set to 1024^3: over 100 GB, refused in one line."""
    package = tmp_path / "package"
    shutil.copytree(PACKAGE, package)
    stage_zip = package / "crlm.zip"
    with zipfile.ZipFile(PACKAGE / "crlm.zip") as source, zipfile.ZipFile(stage_zip, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("/plans.json"):
                plans = json.loads(data)
                plans["configurations"]["3d_fullres"]["patch_size"] = [1024, 1024, 1024]
                data = json.dumps(plans).encode()
            target.writestr(info, data)
    write_manifest(package, {k: v for k, v in json.loads((package / MANIFEST).read_text()).items() if k != "files"})
    ct, _ = make_phantom(9005)
    sitk.WriteImage(ct, str(tmp_path / "ct.nrrd"))
    done = flrseg("segment", str(tmp_path / "ct.nrrd"), "-o", str(tmp_path / "out"), "--model", str(package),
                  "--device", "cpu", "--progress", "none")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert "stage 'crlm': STU-Net demo needs about" in lines[0] and "1024x1024x1024 patch" in lines[0]
    assert not (tmp_path / "out").exists()
