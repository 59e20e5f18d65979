"""Fine-tuning a cascade stage from a single-channel pretrained STU-Net: the first layer is repeated across the
extra mask channels, new heads when the classes differ, everything else copied; another size is refused."""

import numpy as np
import pytest
import torch

from FLRSegmentationLib.errors import ModelError
from FLRSegmentationLib.models.stunet.network import SIZES, STUNet
from FLRSegmentationLib.models.stunet.pretrained import FIRST_LAYER, load_pretrained

DEMO = SIZES["demo"]


def demo_network(inputs: int, classes: int, seed: int) -> STUNet:
    torch.manual_seed(seed)
    return STUNet(inputs, classes, DEMO.depth, DEMO.dims)


def test_single_channel_checkpoint_starts_a_three_channel_stage_with_new_heads(tmp_path):
    pretrained = demo_network(1, 105, seed=0).state_dict()
    path = tmp_path / "model_final_checkpoint.model"  # a v1 file, as STU-Net's pretrained models are
    torch.save({"state_dict": pretrained, "plot_stuff": ([np.float64(0.3)],)}, path)
    network = demo_network(3, 2, seed=1)
    fresh = {k: v.clone() for k, v in network.state_dict().items()}
    notes = load_pretrained(network, path)
    state = network.state_dict()
    for key in FIRST_LAYER:
        assert state[key].shape[1] == 3
        for channel in range(3):
            assert torch.equal(state[key][:, channel], pretrained[key][:, 0])
    heads = [k for k in state if k.startswith("seg_outputs.")]
    assert len(heads) == 10 and all(torch.equal(state[k], fresh[k]) for k in heads)
    others = [k for k in state if k not in heads and k not in FIRST_LAYER]
    assert all(torch.equal(state[k], pretrained[k]) for k in others)
    assert sum("repeated over 3 input channels" in n for n in notes) == 2
    assert sum("re-initialised for 2 classes" in n for n in notes) == 10


def test_same_classes_keep_the_pretrained_heads(tmp_path):
    pretrained = demo_network(1, 2, seed=0).state_dict()
    path = tmp_path / "checkpoint_final.pth"
    torch.save({"network_weights": pretrained}, path)
    network = demo_network(2, 2, seed=1)
    load_pretrained(network, path)
    assert all(torch.equal(network.state_dict()[k], pretrained[k]) for k in pretrained if k.startswith("seg_outputs."))


def test_checkpoint_of_another_size_is_refused(tmp_path):
    path = tmp_path / "small.pth"
    spec = SIZES["small"]
    with torch.device("meta"):
        weights = STUNet(1, 2, spec.depth, spec.dims).state_dict()
    torch.save({"network_weights": {k: torch.zeros(v.shape) for k, v in weights.items()}}, path)
    with pytest.raises(ModelError, match="another STU-Net size"):
        load_pretrained(demo_network(2, 2, seed=0), path)
    large = SIZES["large"]
    with torch.device("meta"):
        deeper = STUNet(1, 2, large.depth, DEMO.dims).state_dict()  # two blocks per stage: extra tensors
    torch.save({"network_weights": {k: torch.zeros(1) for k in deeper}}, path)
    with pytest.raises(ModelError, match="not an STU-Net of this size"):
        load_pretrained(demo_network(2, 2, seed=0), path)
