"""The demo-model recipe runs nnunetv2's real planning, preprocessing, training and export end to end.

A two-iteration trainer keeps it short: this proves the pipeline and the package it writes, not learning (the
committed demo models, trained with the full recipe, are checked for accuracy in test_segment.py).
"""

import numpy as np
import SimpleITK as sitk
import torch

from FLRSegmentationLib.demo_models import build
from FLRSegmentationLib.packages import open_package
from FLRSegmentationLib.phantom import make_phantom
from FLRSegmentationLib.stage_predictor import StagePredictor
from FLRSegmentationLib.stages import STAGES, Reorientation, stage_input


def test_recipe_trains_exports_and_packages_a_loadable_stage(tmp_path):
    out = build(tmp_path / "pkg", n_cases=3, stages=["liver"], version="0.0.1", trainer="nnUNetTrainerFLRDemoSmoke")
    package = open_package(out, tmp_path / "unpack")
    assert package.manifest["stages"]["liver"]["trainer"] == "nnUNetTrainerFLRDemoSmoke"
    assert package.manifest["strategies"] == {}  # one stage alone makes no strategy
    stage = package.stage("liver", tmp_path / "unpack")
    ct, _ = make_phantom(5)
    orient = Reorientation.from_direction(ct.GetDirection())
    image = stage_input(STAGES["liver"], orient.forward(sitk.GetArrayFromImage(ct)), {})
    labels = StagePredictor(stage, torch.device("cpu")).predict(image, orient.spacing_zyx(ct.GetSpacing()))
    assert labels.shape == image.shape[1:] and labels.dtype.kind in "iu" and set(np.unique(labels)) <= {0, 1}
