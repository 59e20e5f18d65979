"""The SwinUNETR demo package's stage storage: a trained SwinUNETR stage zipped inference-only with float16 weights
loads as an engine stage (float32 network, the weights rounded to float16, the int16 position indices exact) and
predicts."""

import json
import zipfile
from pathlib import Path

import numpy as np
import torch

from FLRSegmentationLib.inference.stage_predictor import StagePredictor
from FLRSegmentationLib.models.packages import StageModel, safe_extract
from FLRSegmentationLib.models.swinunetr.network import PLANS_KEY, TRAINER_SPECS, build_swinunetr, round_patch
from FLRSegmentationLib.research.swinunetr_demo import half_precision_stage

DEMO_FLR = Path(__file__).resolve().parents[3] / "Models" / "demo-phantom" / "flr.zip"
TRAINER = "SwinUNETRTrainer_demo"


def trained_stage(folder: Path) -> tuple[StageModel, dict]:
    """A SwinUNETR FLR stage folder as nnUNetv2_train leaves it: plans, dataset, a full checkpoint."""
    model = folder / f"{TRAINER}__nnUNetPlans__3d_fullres"
    (model / "fold_all").mkdir(parents=True)
    with zipfile.ZipFile(DEMO_FLR) as zf:
        for name in zf.namelist():
            if name.endswith(("/plans.json", "/dataset.json")):
                (model / Path(name).name).write_bytes(zf.read(name))
    plans = json.loads((model / "plans.json").read_text())
    config = plans["configurations"]["3d_fullres"]
    config["patch_size"] = round_patch(config["patch_size"])
    config[PLANS_KEY] = TRAINER_SPECS["demo"].to_dict()
    (model / "plans.json").write_text(json.dumps(plans))
    torch.manual_seed(0)
    weights = build_swinunetr(TRAINER_SPECS["demo"], 3, 2).state_dict()
    torch.save({"network_weights": weights, "optimizer_state": {"state": {}}, "trainer_name": TRAINER,
                "inference_allowed_mirroring_axes": None, "current_epoch": 4},
               model / "fold_all" / "checkpoint_final.pth")
    return StageModel("flr", model, TRAINER, ("all",), "checkpoint_final.pth"), weights


def test_a_float16_stage_loads_as_the_float32_network_and_predicts(tmp_path):
    stage, weights = trained_stage(tmp_path / "trained")
    half_precision_stage(stage, tmp_path / "flr.zip")
    safe_extract(tmp_path / "flr.zip", tmp_path / "stored")
    folder = next((tmp_path / "stored").glob(f"*/{TRAINER}__nnUNetPlans__3d_fullres"))
    stored = torch.load(folder / "fold_all" / "checkpoint_final.pth", weights_only=True)
    assert set(stored) == {"network_weights", "trainer_name", "inference_allowed_mirroring_axes"}
    dtypes = {v.dtype for v in stored["network_weights"].values()}
    assert dtypes == {torch.float16, torch.int16}, dtypes  # weights; relative position indices
    assert (folder / "fold_all" / "checkpoint_final.pth").stat().st_size < 0.55 * (
        stage.folder / "fold_all" / "checkpoint_final.pth").stat().st_size

    predictor = StagePredictor(StageModel("flr", folder, TRAINER, ("all",), "checkpoint_final.pth"),
                               torch.device("cpu"))
    network = predictor.predictor.network
    assert all(p.dtype == torch.float32 for p in network.parameters())
    for key, value in network.state_dict().items():
        expected = weights[key].half().float() if weights[key].is_floating_point() else weights[key]
        assert torch.equal(value, expected), key
    image = np.random.default_rng(0).normal(size=(3, 30, 36, 50)).astype(np.float32)
    labels = predictor.predict(image, (5.0, 5.0, 5.0))
    assert labels.shape == image.shape[1:] and set(np.unique(labels)) <= {0, 1}
