"""nnUNetv2_train (nnunetv2 2.8) trains an STU-Net cascade stage with our trainer, started from a single-channel
pretrained STU-Net checkpoint; the exported model runs as an engine stage.

A two-iteration trainer keeps it short: this proves the training, fine-tuning and export path, not learning (the
committed package demo-phantom-stunet, trained with the full schedule, is checked for accuracy in
test_stunet_package.py).
"""

import numpy as np
import SimpleITK as sitk
import torch

from FLRSegmentationLib.inference.stage_io import Reorientation, crop_box, stage_input
from FLRSegmentationLib.inference.stage_predictor import StagePredictor
from FLRSegmentationLib.models.packages import StageModel, safe_extract
from FLRSegmentationLib.models.stunet.network import SIZES, STUNet
from FLRSegmentationLib.models.stunet.pretrained import PRETRAINED_VARIABLE
from FLRSegmentationLib.research.demo_models import CONFIGURATION, PLANS, train_stage
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.vocabulary.stages import STAGES

TRAINER = "STUNetTrainer_demo_smoke"


def test_nnunetv2_train_fine_tunes_a_two_channel_stunet_stage_from_a_one_channel_checkpoint(tmp_path, monkeypatch):
    spec = SIZES["demo"]
    pretrained = tmp_path / "pretrained.model"  # v1 flavour, one input channel, three classes
    torch.save({"state_dict": STUNet(1, 3, spec.depth, spec.dims).state_dict()}, pretrained)
    monkeypatch.setenv(PRETRAINED_VARIABLE, str(pretrained))
    phantoms = [(f"phantom{seed}", *make_phantom(seed)) for seed in (11, 12, 13)]
    work = tmp_path / "work"
    train_stage("crlm", phantoms, work, TRAINER, tmp_path / "crlm.zip")

    model = f"{TRAINER}__{PLANS}__{CONFIGURATION}"
    logs = list(work.glob(f"results/*/{model}/fold_all/training_log_*.txt"))
    log = logs[0].read_text()
    assert f"STU-Net initialised from pretrained {pretrained}" in log
    assert "conv_blocks_context.0.0.conv1.weight repeated over 2 input channels" in log
    assert "seg_outputs.0.weight re-initialised for 2 classes (pretrained: 3)" in log

    safe_extract(tmp_path / "crlm.zip", tmp_path / "exported")
    folder = next((tmp_path / "exported").glob(f"*/{model}"))
    predictor = StagePredictor(StageModel("crlm", folder, TRAINER, ("all",), "checkpoint_final.pth"),
                               torch.device("cpu"))
    assert isinstance(predictor.predictor.network, STUNet)
    ct, truth = make_phantom(9400)
    orient = Reorientation.from_direction(ct.GetDirection())
    spacing = orient.spacing_zyx(ct.GetSpacing())
    liver = orient.forward(sitk.GetArrayFromImage(truth)) > 0
    box = crop_box(liver, spacing, 20.0)
    image = stage_input(STAGES["crlm"], orient.forward(sitk.GetArrayFromImage(ct))[box].astype(np.float32),
                        {"liver": liver[box]})
    labels = predictor.predict(image, spacing)
    assert labels.shape == image.shape[1:] and set(np.unique(labels)) <= {0, 1}
