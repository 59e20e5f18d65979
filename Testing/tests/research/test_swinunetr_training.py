"""nnUNetv2_train (nnunetv2 2.8) trains a SwinUNETR cascade stage with our trainer, started from a synthetic
checkpoint in the layout of MONAI's self-supervised encoder; `flrseg export` packages it and `flrseg segment` runs it.

A two-iteration trainer keeps it short: this proves the training, fine-tuning, export and segmentation path, not
learning.
"""

import json
import subprocess
import sys

import SimpleITK as sitk
import torch
from monai.networks.nets import SwinUNETR

from FLRSegmentationLib.models.packages import open_package, safe_extract
from FLRSegmentationLib.models.swinunetr.network import PLANS_KEY, TRAINER_SPECS, build_swinunetr
from FLRSegmentationLib.models.swinunetr.pretrained import PRETRAINED_VARIABLE
from FLRSegmentationLib.research.demo_models import CONFIGURATION, PLANS, train_stage
from FLRSegmentationLib.research.phantom import make_phantom
from swinunetr_checkpoints import self_supervised_checkpoint

TRAINER = "SwinUNETRTrainer_demo_smoke"
MODEL = f"{TRAINER}__{PLANS}__{CONFIGURATION}"


def flrseg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "FLRSegmentationLib.cli", *args], capture_output=True, text=True,
                          timeout=900)


def test_nnunetv2_trains_a_swinunetr_stage_that_flrseg_exports_and_segments_with(tmp_path, monkeypatch):
    pretrained = tmp_path / "model_swinvit.pt"
    torch.save(self_supervised_checkpoint(TRAINER_SPECS["demo"].feature_size), pretrained)
    monkeypatch.setenv(PRETRAINED_VARIABLE, str(pretrained))
    phantoms = [(f"phantom{seed}", *make_phantom(seed)) for seed in (11, 12, 13)]
    train_stage("flr", phantoms, tmp_path / "work", TRAINER, tmp_path / "flr.zip")

    log = next((tmp_path / "work").glob(f"results/*/{MODEL}/fold_all/training_log_*.txt")).read_text()
    assert f"SwinUNETR initialised from pretrained {pretrained}" in log
    assert "patch embedding: the pretrained 1-channel filter copied into all 3 input channels" in log

    safe_extract(tmp_path / "flr.zip", tmp_path / "trained")
    folder = next((tmp_path / "trained").glob(f"*/{MODEL}"))
    config = json.loads((folder / "plans.json").read_text())["configurations"][CONFIGURATION]
    assert all(p % 32 == 0 for p in config["patch_size"]), config["patch_size"]  # planned 40x40x56
    assert config[PLANS_KEY] == TRAINER_SPECS["demo"].to_dict()
    weights = torch.load(folder / "fold_all" / "checkpoint_final.pth", weights_only=False)["network_weights"]
    assert set(weights) == set(build_swinunetr(TRAINER_SPECS["demo"], 3, 2).state_dict())
    assert isinstance(build_swinunetr(TRAINER_SPECS["demo"], 3, 2), SwinUNETR)

    # a package whose FLR stage is the SwinUNETR just trained, the others from the nnU-Net demo package
    demo = open_package(__import__("pathlib").Path(__file__).resolve().parents[3] / "Models" / "demo-phantom",
                        tmp_path / "demo")
    stages = {name: demo.stage(name, tmp_path / "unpacked").folder for name in ("liver", "crlm")}
    done = flrseg("export", str(stages["liver"]), str(stages["crlm"]), str(folder), "-o", str(tmp_path / "pkg.zip"),
                  "--id", "swinunetr-smoke", "--version", "0.0.1")
    assert done.returncode == 0, done.stderr
    ct, _ = make_phantom(9400)
    sitk.WriteImage(ct, str(tmp_path / "ct.nrrd"))
    done = flrseg("segment", str(tmp_path / "ct.nrrd"), "-o", str(tmp_path / "out"), "--model",
                  str(tmp_path / "pkg.zip"), "--device", "cpu", "--progress", "none")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "ct_report.json").read_text())
    assert set(report["stage_seconds"]) == {"liver", "crlm", "flr"}
