"""Checkpoints load with weights_only=True and an explicit allow-list; anything else is refused."""

import glob
import os

import pytest
import torch

from FLRSegmentationLib.errors import ModelError
from FLRSegmentationLib.models.checkpoint import load_checkpoint, network_weights
from FLRSegmentationLib.models.packages import open_package


class RunsCode:
    """A pickle that would create a file when unpickled without weights_only."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def test_pickled_object_outside_allow_list_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pth"
    torch.save({"network_weights": {}, "payload": RunsCode(str(marker))}, path)
    with pytest.raises(ModelError, match="outside the allow-list \\(global os.makedirs\\)"):
        load_checkpoint(path)
    assert not marker.exists()


def test_a_blocked_module_global_is_named_too(tmp_path):
    class System:
        def __reduce__(self):
            return (os.system, ("true",))
    path = tmp_path / "blocked.pth"
    torch.save({"network_weights": {}, "payload": System()}, path)
    with pytest.raises(ModelError, match=f"\\(global {os.name}.system\\)"):
        load_checkpoint(path)


def test_stock_nnunet_checkpoint_loads(demo_package, tmp_path):
    stage = open_package(demo_package, tmp_path).stage("liver", tmp_path / "u")
    path = stage.folder / "fold_all" / "checkpoint_final.pth"
    checkpoint = load_checkpoint(path)
    weights = network_weights(checkpoint, path)
    assert checkpoint["trainer_name"] == stage.trainer and all(torch.is_tensor(v) for v in weights.values())
    assert checkpoint["logging"]  # the numpy scalars of the logging state came through the allow-list


def test_v1_style_state_dict_and_missing_weights(tmp_path):
    path = tmp_path / "v1.model"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, path)
    assert list(network_weights(load_checkpoint(path), path)) == ["w"]
    torch.save({"other": 1}, path)
    with pytest.raises(ModelError, match="no network weights"):
        network_weights(load_checkpoint(path), path)


def test_truncated_checkpoint(tmp_path):
    path = tmp_path / "cut.pth"
    torch.save({"network_weights": {"w": torch.zeros(1000)}}, path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ModelError, match="not a readable PyTorch checkpoint"):
        load_checkpoint(path)
