"""STU-Net checkpoints in both published flavours (nnU-Net v1 `.model` with `state_dict`, v2 `.pth` with
`network_weights`) round-trip, load into a stage with weights_only=True, and a pickled object is refused."""

import os
import shutil

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from FLRSegmentationLib.errors import ModelError
from FLRSegmentationLib.inference.stage_io import Reorientation, crop_box, stage_input
from FLRSegmentationLib.inference.stage_predictor import StagePredictor
from FLRSegmentationLib.models.checkpoint import load_checkpoint, network_weights
from FLRSegmentationLib.models.packages import StageModel, open_package
from FLRSegmentationLib.models.stunet.network import SIZES, STUNet
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.vocabulary.stages import STAGES

SMALL_CONFIG = dict(depth=[1] * 6, dims=[4, 8, 16, 16, 16, 16], pool_op_kernel_sizes=[[2, 2, 2]] * 3 + [[1, 1, 1]] * 2)


class RunsCode:
    """A pickle that would create a folder when unpickled without weights_only."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def v1_checkpoint(weights: dict, **extra) -> dict:
    """What nnU-Net v1 (STU-Net's published .model files) saves: weights under state_dict, numpy scalars in the logs."""
    return {"epoch": 4000, "state_dict": weights, "optimizer_state_dict": None,
            "plot_stuff": ([np.float64(0.41), np.float64(0.38)], [np.float64(0.45)], [], [np.float64(0.8)]),
            "best_stuff": (3999, np.float64(0.4), np.float64(0.8), np.float64(0.79)), **extra}


def v2_checkpoint(weights: dict, trainer: str) -> dict:
    return {"network_weights": weights, "trainer_name": trainer, "inference_allowed_mirroring_axes": (0, 1, 2),
            "init_args": {"configuration": "3d_fullres", "fold": "all"}, "current_epoch": 1000}


@pytest.mark.parametrize("flavour", ["v1", "v2"])
def test_small_configuration_round_trips(flavour, tmp_path):
    torch.manual_seed(0)
    network = STUNet(2, 3, **SMALL_CONFIG).eval()
    weights = network.state_dict()
    path = tmp_path / ("model_final_checkpoint.model" if flavour == "v1" else "checkpoint_final.pth")
    torch.save(v1_checkpoint(weights) if flavour == "v1" else v2_checkpoint(weights, "STUNetTrainer_demo"), path)
    restored = STUNet(2, 3, **SMALL_CONFIG).eval()
    restored.load_state_dict(network_weights(load_checkpoint(path), path), strict=True)
    x = torch.randn(1, 2, 16, 16, 16)
    with torch.no_grad():
        for ours, theirs in zip(network(x), restored(x)):
            assert torch.equal(ours, theirs)


@pytest.fixture(scope="module")
def crlm_stage_files(demo_package, tmp_path_factory):
    """The demo CRLM stage's plans and dataset.json, and a phantom's cropped CRLM input."""
    tmp = tmp_path_factory.mktemp("crlm")
    stage = open_package(demo_package, tmp).stage("crlm", tmp / "unpacked")
    ct, truth = make_phantom(9301)
    orient = Reorientation.from_direction(ct.GetDirection())
    image = orient.forward(sitk.GetArrayFromImage(ct)).astype(np.float32)
    liver = orient.forward(sitk.GetArrayFromImage(truth)) > 0
    spacing = orient.spacing_zyx(ct.GetSpacing())
    box = crop_box(liver, spacing, 20.0)
    return stage.folder, stage_input(STAGES["crlm"], image[box], {"liver": liver[box]}), spacing


def stunet_stage(source_folder, tmp_path, trainer: str, checkpoint_name: str, checkpoint: dict) -> StageModel:
    """A trained-model folder as packages unpack it, holding an STU-Net checkpoint for the CRLM stage's plans."""
    folder = tmp_path / "Dataset902_FLRDemoCRLM" / f"{trainer}__nnUNetPlans__3d_fullres"
    (folder / "fold_all").mkdir(parents=True)
    for name in ("plans.json", "dataset.json"):
        shutil.copy2(source_folder / name, folder / name)
    torch.save(checkpoint, folder / "fold_all" / checkpoint_name)
    return StageModel("crlm", folder, trainer, ("all",), checkpoint_name)


@pytest.mark.parametrize("flavour", ["v1", "v2"])
def test_published_size_checkpoint_runs_as_a_stage(flavour, crlm_stage_files, tmp_path):
    """STUNetTrainer_small, as published, built from the stage's plans; the weights are random here (the published
    files are hundreds of MB and can't be downloaded in CI), the layout and the loading are the published ones."""
    source, image, spacing = crlm_stage_files
    spec = SIZES["small"]
    weights = STUNet(2, 2, spec.depth, spec.dims).state_dict()
    if flavour == "v1":
        stage = stunet_stage(source, tmp_path, "STUNetTrainer_small", "model_final_checkpoint.model",
                             v1_checkpoint(weights))
    else:
        stage = stunet_stage(source, tmp_path, "STUNetTrainer_small_ft", "checkpoint_final.pth",
                             v2_checkpoint(weights, "STUNetTrainer_small_ft"))
    predictor = StagePredictor(stage, torch.device("cpu"))
    network = predictor.predictor.network
    assert isinstance(network, STUNet) and network.dims == spec.dims and not network.deep_supervision
    loaded = predictor.predictor.list_of_parameters[0]
    assert loaded.keys() == weights.keys() and all(torch.equal(loaded[k], weights[k]) for k in weights)
    labels = predictor.predict(image, spacing)
    assert labels.shape == image.shape[1:] and set(np.unique(labels)) <= {0, 1}


def test_checkpoint_with_a_pickled_object_is_refused_and_never_runs(crlm_stage_files, tmp_path):
    source, _, _ = crlm_stage_files
    marker = tmp_path / "code-ran"
    weights = STUNet(2, 2, **SMALL_CONFIG).state_dict()
    stage = stunet_stage(source, tmp_path, "STUNetTrainer_demo", "model_final_checkpoint.model",
                         v1_checkpoint(weights, amp_grad_scaler=RunsCode(str(marker))))
    with pytest.raises(ModelError, match="outside the allow-list"):
        StagePredictor(stage, torch.device("cpu"))
    assert not marker.exists()


def test_checkpoint_of_another_size_is_refused_in_one_line(crlm_stage_files, tmp_path):
    source, _, _ = crlm_stage_files
    weights = STUNet(2, 2, **SMALL_CONFIG).state_dict()  # the demo width, saved under a 'small' trainer
    stage = stunet_stage(source, tmp_path, "STUNetTrainer_small", "checkpoint_final.pth",
                         v2_checkpoint(weights, "STUNetTrainer_small"))
    with pytest.raises(ModelError, match="does not fit the network its plans describe") as error:
        StagePredictor(stage, torch.device("cpu"))
    assert "\n" not in str(error.value)
