"""Starting a SwinUNETR stage from MONAI's self-supervised Swin encoder (a synthetic checkpoint in the published
key layout) or from a whole SwinUNETR: the encoder copied through MONAI's load_from, the 1-channel patch embedding
copied into every input channel on purpose, the decoder left as initialised, another size refused in one line."""

import pytest
import torch
from monai.networks.nets import SwinUNETR
from swinunetr_checkpoints import self_supervised_checkpoint

from FLRSegmentationLib.errors import ModelError
from FLRSegmentationLib.models.swinunetr.pretrained import load_pretrained

FEATURES = 12


def network(inputs: int, classes: int, seed: int, **kw) -> SwinUNETR:
    torch.manual_seed(seed)
    return SwinUNETR(in_channels=inputs, out_channels=classes, feature_size=FEATURES, **kw)


@pytest.mark.parametrize("use_v2", [False, True])
def test_load_from_copies_the_encoder_into_a_three_channel_stage_and_leaves_the_decoder(tmp_path, use_v2):
    checkpoint = self_supervised_checkpoint(FEATURES)
    torch.save(checkpoint, tmp_path / "model_swinvit.pt")
    stage = network(3, 2, seed=1, use_v2=use_v2)
    fresh = {k: v.clone() for k, v in stage.state_dict().items()}
    notes = load_pretrained(stage, tmp_path / "model_swinvit.pt")
    state, published = stage.state_dict(), checkpoint["state_dict"]

    embedding = state["swinViT.patch_embed.proj.weight"]
    assert embedding.shape[1] == 3
    for channel in range(3):
        assert torch.equal(embedding[:, channel:channel + 1], published["module.patch_embed.proj.weight"])
    assert any("copied into all 3 input channels, on purpose" in note for note in notes)
    for key in ("layers1.0.blocks.0.attn.qkv.weight", "layers3.0.blocks.1.mlp.fc2.bias",
                "layers4.0.downsample.reduction.weight"):
        ours = key.replace("mlp.fc2", "mlp.linear2")
        assert torch.equal(state[f"swinViT.{ours}"], published[f"module.{key}"]), key
        assert not torch.equal(state[f"swinViT.{ours}"], fresh[f"swinViT.{ours}"])
    untouched = [k for k in state if not k.startswith("swinViT.") or k.startswith("swinViT.layers1c")]
    assert any(k.startswith("decoder1.") for k in untouched) and any(k.startswith("out.") for k in untouched)
    assert use_v2 == any(k.startswith("swinViT.layers1c") for k in untouched)
    for key in untouched:
        assert torch.equal(state[key], fresh[key]), key


def test_an_encoder_of_another_feature_size_is_refused(tmp_path):
    torch.save(self_supervised_checkpoint(24), tmp_path / "model_swinvit.pt")
    with pytest.raises(ModelError, match="feature size 24"):
        load_pretrained(network(3, 2, seed=1), tmp_path / "model_swinvit.pt")


def test_a_whole_swinunetr_starts_a_stage_with_more_channels_and_new_heads(tmp_path):
    btcv = network(1, 14, seed=0)  # a BTCV-like checkpoint: one CT channel, 14 classes
    torch.save({"state_dict": btcv.state_dict()}, tmp_path / "btcv.pt")
    stage = network(3, 2, seed=1)
    fresh = {k: v.clone() for k, v in stage.state_dict().items()}
    notes = load_pretrained(stage, tmp_path / "btcv.pt")
    state = stage.state_dict()
    for key, value in btcv.state_dict().items():
        if key.startswith("out."):
            assert torch.equal(state[key], fresh[key])
        elif state[key].shape == value.shape:
            assert torch.equal(state[key], value), key
        else:
            assert torch.equal(state[key][:, 2:3], value), key
    assert "encoder1.layer.conv1.conv.weight copied into all 3 input channels, on purpose" in notes
    assert "out.conv.conv.weight re-initialised for 2 classes (pretrained: 14)" in notes


def test_a_whole_network_of_another_version_is_refused(tmp_path):
    torch.save(network(3, 2, seed=0, use_v2=True).state_dict(), tmp_path / "v2.pth")
    with pytest.raises(ModelError, match="not a SwinUNETR of this feature size, version and depths"):
        load_pretrained(network(3, 2, seed=1), tmp_path / "v2.pth")
