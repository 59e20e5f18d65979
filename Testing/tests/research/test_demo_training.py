"""The demo-model recipe runs nnunetv2's real planning, preprocessing, training and export end to end.

A two-iteration trainer keeps it short: this proves the pipeline and the package it writes, not learning (the
committed demo models, trained with the full recipe, are checked for accuracy in test_segment.py).
"""

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from FLRSegmentationLib.inference.stage_io import Reorientation, stage_input
from FLRSegmentationLib.inference.stage_predictor import StagePredictor
from FLRSegmentationLib.models.packages import open_package
from FLRSegmentationLib.research.demo_models import build
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.vocabulary.stages import STAGES


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


def test_a_stage_trained_twice_starts_from_a_packaged_first_round_and_other_stages_are_kept(tmp_path, monkeypatch):
    """The E2E recipe trains twice; its first round can come from an earlier package (--first-round-from), and a
    rebuilt stage leaves the package's other stages as they were."""
    import FLRSegmentationLib.research.demo_models as demo_models

    smoke = "nnUNetTrainerFLRDemoSmoke"
    first = build(tmp_path / "first", n_cases=3, stages=["liver"], version="0.0.1", trainer=smoke)
    monkeypatch.setitem(demo_models.STAGE_TRAINERS, "liver", [smoke, smoke])
    second = build(tmp_path / "second", n_cases=3, stages=["liver"], version="0.0.2", first_round_from=first)
    entry = open_package(second, tmp_path / "unpack2").manifest["stages"]["liver"]
    assert entry["trainer"] == smoke and entry["trained_after"] == [smoke]
    assert "then, from its weights," in (second / "MODEL_CARD.md").read_text()

    kept = open_package(first, tmp_path / "unpack1").manifest["files"]["liver.zip"]
    build(first, n_cases=3, stages=["flr"], version="0.0.3", trainer=smoke)
    rebuilt = open_package(first, tmp_path / "unpack3").manifest
    assert set(rebuilt["stages"]) == {"liver", "flr"} and rebuilt["files"]["liver.zip"] == kept

    with pytest.raises(SystemExit, match="not this recipe's first liver training"):
        build(tmp_path / "third", n_cases=4, stages=["liver"], version="0.0.4", first_round_from=first)
    with pytest.raises(SystemExit, match="no manifest.json"):
        build(tmp_path / "third", n_cases=3, stages=["liver"], version="0.0.4", first_round_from=tmp_path)
    assert not (tmp_path / "third").exists()
