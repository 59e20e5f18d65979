"""Checkpoints in the key layout of MONAI's self-supervised Swin encoder (`model_swinvit.pt`): nothing is
downloaded in the tests, so the published layout is written from a randomly initialised network."""

import torch
from monai.networks.nets import SwinUNETR

# MONAI's Swin blocks name their MLP linear1/linear2; the published checkpoint calls them fc1/fc2
RENAMES = (("mlp.linear1.", "mlp.fc1."), ("mlp.linear2.", "mlp.fc2."))


def self_supervised_checkpoint(feature_size: int, seed: int = 7) -> dict:
    """{"state_dict": {"module.patch_embed...", "module.layers1.0.blocks.0...", ...}} for one input channel."""
    torch.manual_seed(seed)
    encoder = SwinUNETR(in_channels=1, out_channels=14, feature_size=feature_size).swinViT.state_dict()
    state = {}
    for key, value in encoder.items():
        for ours, theirs in RENAMES:
            key = key.replace(ours, theirs)
        state["module." + key] = value
    return {"epoch": 100, "state_dict": state}
