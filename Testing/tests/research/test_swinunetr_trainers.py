"""The SwinUNETR trainers' pieces that need no training: `flrseg train` finds them through nnU-Net's own lookup,
the patch is rounded to multiples of 32 in the plans they train with, and the learning rate warms up then decays."""

import pytest
import torch

from FLRSegmentationLib.cli.main import main
from FLRSegmentationLib.models.nnunet_trainers.swinunetr_trainers import WarmupDecayLR, plans_for_swinunetr
from FLRSegmentationLib.research.nnunet_dataset import write_stage_dataset
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.vocabulary.stages import STAGES


@pytest.mark.parametrize("trainer", ["SwinUNETRTrainer", "SwinUNETRTrainer_v2", "SwinUNETRTrainer_ft",
                                     "SwinUNETRTrainer_v2_ft", "SwinUNETRTrainer_demo"])
def test_flrseg_train_finds_the_swinunetr_trainers(tmp_path, capsys, trainer):
    raw = write_stage_dataset(tmp_path / "raw" / "Dataset953_FLRTestFLR", STAGES["flr"],
                              [("phantom1", *make_phantom(1))], "dry run")
    assert main(["train", str(raw), "--stage", "flr", "--trainer", trainer, "--fold", "all", "--device", "cpu",
                 "--dry-run"]) == 0
    trains = [line for line in capsys.readouterr().out.splitlines() if "nnUNetv2_train " in line]
    assert len(trains) == 1 and f"-tr {trainer} -p nnUNetPlans" in trains[0]


def test_the_trained_plans_have_a_patch_of_multiples_of_32_and_the_network_description():
    plans = {"configurations": {"3d_fullres": {"patch_size": [40, 80, 56]}}}
    for trainer, expected in (("SwinUNETRTrainer_demo", 12), ("SwinUNETRTrainer_v2", 48)):
        config = plans_for_swinunetr(plans, "3d_fullres", trainer)["configurations"]["3d_fullres"]
        assert config["patch_size"] == [32, 96, 64]
        assert config["swinunetr"]["feature_size"] == expected
        assert config["swinunetr"]["use_v2"] == trainer.endswith("_v2")
    assert plans["configurations"]["3d_fullres"]["patch_size"] == [40, 80, 56]  # the caller's plans untouched


@pytest.mark.parametrize("schedule", ["cosine", "poly"])
def test_the_learning_rate_warms_up_then_decays_to_zero(schedule):
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    scheduler = WarmupDecayLR(optimizer, 1e-3, epochs=100, warmup=5, schedule=schedule)
    lrs = []
    for epoch in range(100):
        scheduler.step(epoch)
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs[:5] == sorted(lrs[:5]) and lrs[0] < lrs[4] < 1e-3
    assert lrs[5] == pytest.approx(1e-3)
    assert lrs[5:] == sorted(lrs[5:], reverse=True) and lrs[-1] < 1e-4
