"""SwinUNETR stages from their plans: MONAI's network for 1 and 3 input channels and for region heads, the
description in the plans (feature size, v1/v2, depths) obeyed, MONAI's own checkpoints loading strictly, and a patch
size SwinUNETR can't take refused by `flrseg segment` in one line."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import SimpleITK as sitk
import torch
from monai.networks.nets import SwinUNETR
from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

from FLRSegmentationLib.errors import ModelError
from FLRSegmentationLib.models.checkpoint import load_checkpoint, network_weights
from FLRSegmentationLib.models.network_builders import build_network
from FLRSegmentationLib.models.packages import MANIFEST, write_manifest
from FLRSegmentationLib.models.swinunetr.network import (PLANS_KEY, SwinUNETRSpec, round_patch, spec_of_network,
                                                         variant_of_trainer)
from FLRSegmentationLib.research.phantom import make_phantom

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "Models" / "demo-phantom"
DEMO_TRAINER = "SwinUNETRTrainer_demo"


def stage_files(stage: str) -> tuple[dict, dict]:
    """plans.json and dataset.json of a committed nnU-Net demo stage (planned patch 40x40x56 or 40x80x80)."""
    with zipfile.ZipFile(DEMO / f"{stage}.zip") as zf:
        read = {Path(n).name: json.loads(zf.read(n)) for n in zf.namelist() if n.endswith(("/plans.json",
                                                                                             "/dataset.json"))}
    return read["plans.json"], read["dataset.json"]


def swinunetr_plans(plans: dict, **description) -> PlansManager:
    config = plans["configurations"]["3d_fullres"]
    config["patch_size"] = round_patch(config["patch_size"])
    if description:
        config[PLANS_KEY] = description
    return PlansManager(plans)


@pytest.mark.parametrize("stage", ["liver", "flr", "e2e"])
def test_a_stage_builds_from_its_plans_and_maps_a_patch_to_its_heads(stage):
    plans, dataset = stage_files(stage)
    manager = swinunetr_plans(plans, feature_size=12, use_v2=False, depths=[2, 2, 2, 2])
    configuration = manager.get_configuration("3d_fullres")
    n_inputs = len(dataset["channel_names"])
    heads = manager.get_label_manager(dataset).num_segmentation_heads
    network = build_network(DEMO_TRAINER, manager, configuration, n_inputs, heads)
    assert isinstance(network, SwinUNETR)
    assert (n_inputs, heads) == {"liver": (1, 2), "flr": (3, 2), "e2e": (1, 3)}[stage]  # e2e: three regions
    with torch.no_grad():
        out = network(torch.zeros(1, n_inputs, *configuration.patch_size))
    assert out.shape == (1, heads, *configuration.patch_size)


def test_the_plans_description_decides_the_network_and_the_trainer_name_gives_the_defaults():
    plans, dataset = stage_files("flr")
    manager = swinunetr_plans(plans, feature_size=24, use_v2=True, depths=[1, 1, 2, 1])
    network = build_network(DEMO_TRAINER, manager, manager.get_configuration("3d_fullres"), 3, 2)
    assert spec_of_network(network) == SwinUNETRSpec(24, True, (1, 1, 2, 1))
    plain = swinunetr_plans(stage_files("flr")[0])
    for trainer, expected in (("SwinUNETRTrainer_demo_smoke", SwinUNETRSpec(12)),
                              ("SwinUNETRTrainer_v2_ft", SwinUNETRSpec(48, True))):
        network = build_network(trainer, plain, plain.get_configuration("3d_fullres"), 3, 2)
        assert spec_of_network(network) == expected
    assert variant_of_trainer("SwinUNETRTrainer") == "" and variant_of_trainer("SwinUNETRTrainer_ft") == ""
    with pytest.raises(ModelError, match="divisible by 12"):
        bad = swinunetr_plans(stage_files("flr")[0], feature_size=16)
        build_network(DEMO_TRAINER, bad, bad.get_configuration("3d_fullres"), 3, 2)


def test_a_checkpoint_in_monai_key_layout_loads_strictly(tmp_path):
    torch.manual_seed(3)
    theirs = SwinUNETR(in_channels=3, out_channels=2, feature_size=12, use_v2=True)
    torch.save({"network_weights": theirs.state_dict()}, tmp_path / "checkpoint_final.pth")
    plans, _ = stage_files("flr")
    manager = swinunetr_plans(plans, feature_size=12, use_v2=True, depths=[2, 2, 2, 2])
    network = build_network("SwinUNETRTrainer_v2", manager, manager.get_configuration("3d_fullres"), 3, 2)
    path = tmp_path / "checkpoint_final.pth"
    network.load_state_dict(network_weights(load_checkpoint(path), path), strict=True)
    for key, value in theirs.state_dict().items():
        assert torch.equal(network.state_dict()[key], value), key


def test_a_patch_not_divisible_by_32_is_refused_in_one_line(tmp_path):
    """The demo package with its FLR stage turned into a SwinUNETR whose plans keep nnU-Net's 40x40x56 patch."""
    package = tmp_path / "package"
    package.mkdir()
    manifest = json.loads((DEMO / MANIFEST).read_text())
    for name in ("liver", "crlm"):
        (package / f"{name}.zip").write_bytes((DEMO / f"{name}.zip").read_bytes())
    weights = SwinUNETR(in_channels=3, out_channels=2, feature_size=12).state_dict()
    torch.save({"network_weights": weights, "trainer_name": DEMO_TRAINER}, tmp_path / "checkpoint_final.pth")
    with zipfile.ZipFile(DEMO / "flr.zip") as source, zipfile.ZipFile(package / "flr.zip", "w") as target:
        for info in source.infolist():
            name = info.filename.replace("nnUNetTrainerFLRDemo__", f"{DEMO_TRAINER}__")
            if name.endswith(("/plans.json", "/dataset.json")):
                target.writestr(name, source.read(info))
            elif name.endswith("/checkpoint_final.pth"):
                target.write(tmp_path / "checkpoint_final.pth", name)
    manifest["stages"]["flr"]["trainer"] = DEMO_TRAINER
    manifest["strategies"] = {"cascade": manifest["strategies"]["cascade"]}
    del manifest["stages"]["e2e"]
    write_manifest(package, {k: v for k, v in manifest.items() if k != "files"})
    ct = tmp_path / "ct.nrrd"
    sitk.WriteImage(make_phantom(9005)[0], str(ct))
    done = subprocess.run([sys.executable, "-m", "FLRSegmentationLib.cli", "segment", str(ct), "-o",
                           str(tmp_path / "out"), "--model", str(package), "--device", "cpu", "--progress", "none"],
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert "stage 'flr': SwinUNETR needs a 3D patch size divisible by 32" in lines[0], lines[0]
    assert "the plans give 40x40x56" in lines[0] and "(e.g. 32x32x64)" in lines[0], lines[0]
    assert not (tmp_path / "out").exists()
