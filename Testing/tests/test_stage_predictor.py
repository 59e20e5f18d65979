"""A stage runs through nnunetv2's predictor with our network; GPU out-of-memory falls back step by step."""

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from FLRSegmentationLib.packages import open_package
from FLRSegmentationLib.phantom import make_phantom
from FLRSegmentationLib.stage_predictor import StagePredictor
from FLRSegmentationLib.stages import STAGES, Reorientation, stage_input


@pytest.fixture(scope="module")
def liver_stage(demo_package, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stage")
    return open_package(demo_package, tmp).stage("liver", tmp / "unpacked")


@pytest.fixture(scope="module")
def phantom_input():
    ct, truth = make_phantom(9200)
    orient = Reorientation.from_direction(ct.GetDirection())
    image = stage_input(STAGES["liver"], orient.forward(sitk.GetArrayFromImage(ct)), {})
    return image, orient.spacing_zyx(ct.GetSpacing()), orient.forward(sitk.GetArrayFromImage(truth)) > 0


def test_liver_stage_predicts_on_arrays(liver_stage, phantom_input):
    image, spacing, truth = phantom_input
    labels = StagePredictor(liver_stage, torch.device("cpu")).predict(image, spacing)
    assert labels.shape == truth.shape
    assert 2 * ((labels > 0) & truth).sum() / ((labels > 0).sum() + truth.sum()) > 0.9


def test_out_of_memory_retries_with_less_on_the_gpu_then_on_the_cpu(liver_stage, phantom_input, monkeypatch):
    image, spacing, truth = phantom_input
    predictor = StagePredictor(liver_stage, torch.device("cpu"))
    real = predictor.predictor.predict_single_npy_array
    calls = []

    def failing_twice(*args, **kwargs):
        calls.append((predictor.predictor.perform_everything_on_device, str(predictor.predictor.device)))
        if len(calls) <= 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(predictor.predictor, "predict_single_npy_array", failing_twice)
    predictor.predictor.device = torch.device("cuda")  # as if it had started on a GPU
    labels = predictor.predict(image, spacing)
    assert len(calls) == 3 and calls[1][0] is False and calls[2][1] == "cpu"
    assert [f.split(":")[0] for f in predictor.fallbacks] == ["liver", "liver"]
    assert "CPU" in predictor.fallbacks[-1] and labels.shape == truth.shape
