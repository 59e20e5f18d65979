"""A stage runs through nnunetv2's predictor with our network; GPU out-of-memory falls back step by step."""

import numpy as np
import pytest
import SimpleITK as sitk
import torch
from nnunetv2.utilities.label_handling.label_handling import LabelManager

from FLRSegmentationLib.inference.stage_io import Reorientation, stage_input
from FLRSegmentationLib.inference.stage_predictor import RegionBits, StagePredictor
from FLRSegmentationLib.models.packages import open_package
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.vocabulary.stages import STAGES


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


@pytest.mark.parametrize("as_tensor", [False, True])
def test_overlapping_regions_all_survive_as_bits(as_tensor):
    """nnU-Net writes regions into one label map in order, so FLR would hide a CRLM voxel where both fire;
    as bits both stay, for the post-processing rules to decide."""
    manager = RegionBits(STAGES["e2e"].labels, [1, 2, 3])
    probabilities = np.zeros((3, 1, 1, 4), np.float32)
    probabilities[:, 0, 0, 1] = [0.9, 0.0, 0.0]  # liver only
    probabilities[:, 0, 0, 2] = [0.9, 0.8, 0.7]  # liver, CRLM and FLR at once
    probabilities[:, 0, 0, 3] = [0.9, 0.2, 0.6]  # liver and FLR
    given = torch.from_numpy(probabilities) if as_tensor else probabilities
    bits = np.asarray(manager.convert_probabilities_to_segmentation(given))
    assert bits.ravel().tolist() == [0, 0b001, 0b111, 0b101]
    nnunet = LabelManager(STAGES["e2e"].labels, [1, 2, 3]).convert_probabilities_to_segmentation(probabilities)
    assert nnunet.ravel().tolist() == [0, 1, 3, 3]  # CRLM lost under FLR


def test_a_region_model_names_its_bits(demo_package, tmp_path):
    e2e = open_package(demo_package, tmp_path).stage("e2e", tmp_path / "unpacked")
    predictor = StagePredictor(e2e, torch.device("cpu"))
    assert predictor.region_names == ["liver", "crlm", "flr"]
    masks = predictor.regions(np.array([0b000, 0b011, 0b101], np.uint8))
    assert masks["liver"].tolist() == [False, True, True] and masks["crlm"].tolist() == [False, True, False]
    assert masks["flr"].tolist() == [False, False, True]
