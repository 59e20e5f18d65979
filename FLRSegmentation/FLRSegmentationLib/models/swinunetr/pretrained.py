"""Start a SwinUNETR stage from pretrained weights: MONAI's self-supervised Swin encoder (`model_swinvit.pt`, Tang
et al. 2022, pretrained on about 5050 CTs: one input channel, feature size 48, keys `module.layers1.0.blocks.0...`),
or a whole SwinUNETR (a BTCV checkpoint, or a stage trained here; MONAI's own key layout).

The encoder goes in through MONAI's `SwinUNETR.load_from`, which copies the patch embedding, the Swin blocks and
the patch merging; the convolutional encoder and decoder (and v2's extra residual blocks) keep their fresh
initialisation. Our cascade stages take mask channels besides the CT: `load_from` would silently broadcast a
1-channel patch embedding into every channel; we repeat it on purpose before the call and say so in the notes
(the CT filter then also sees the masks, and fine-tuning separates them), as STU-Net's fine-tuning does. Read with
torch.load(weights_only=True) and the checkpoint allow-list.
"""

from __future__ import annotations

from pathlib import Path

import torch
from monai.networks.nets import SwinUNETR

from ...errors import ModelError
from ..checkpoint import load_checkpoint, network_weights

PRETRAINED_VARIABLE = "FLRSEG_SWINUNETR_PRETRAINED"  # how nnUNetv2_train hands our fine-tuning trainers a file
ENCODER_PREFIX = "module."  # the self-supervised checkpoint's layout
EMBEDDING = "module.patch_embed.proj.weight"
# a whole network's tensors that depend on its input channels, and its output head
INPUT_LAYERS = ("swinViT.patch_embed.proj.weight", "encoder1.layer.conv1.conv.weight",
                "encoder1.layer.conv3.conv.weight")
HEAD = "out.conv.conv."


def _repeated(theirs: torch.Tensor, mine: torch.Tensor) -> torch.Tensor | None:
    """A one-input-channel kernel repeated over our input channels; None if it differs in anything else."""
    if theirs.ndim == mine.ndim == 5 and theirs.shape[1] == 1 and theirs.shape[0] == mine.shape[0] \
            and theirs.shape[2:] == mine.shape[2:]:
        return theirs.repeat(1, mine.shape[1], 1, 1, 1)
    return None


def is_encoder_checkpoint(weights: dict) -> bool:
    return EMBEDDING in weights


def load_encoder(network: SwinUNETR, weights: dict, source: str) -> list[str]:
    """MONAI's self-supervised Swin encoder into `network` with its load_from; the decoder stays as initialised."""
    mine = network.swinViT.patch_embed.proj.weight
    theirs = weights[EMBEDDING]
    notes = []
    if theirs.shape != mine.shape:
        repeated = _repeated(theirs, mine)
        if repeated is None:
            raise ModelError(f"{source}: its patch embedding has shape {tuple(theirs.shape)}, the network needs "
                             f"{tuple(mine.shape)}; the self-supervised encoder needs feature size "
                             f"{theirs.shape[0]} (a SwinUNETR trainer of that size)")
        weights = dict(weights, **{EMBEDDING: repeated})
        notes.append(f"patch embedding: the pretrained 1-channel filter copied into all {mine.shape[1]} input "
                     f"channels, on purpose")
    try:
        network.load_from({"state_dict": weights})
    except (KeyError, RuntimeError) as exc:
        raise ModelError(f"{source}: not MONAI's self-supervised Swin encoder for this network's feature size and "
                         f"depths ({str(exc).splitlines()[0][:120]})") from None
    notes.append("Swin encoder loaded with MONAI's load_from; convolutional encoder and decoder as initialised")
    return notes


def adapt_network(weights: dict, target: dict, source: str) -> tuple[dict, list[str]]:
    """A whole SwinUNETR's state dict for a network whose own is `target`: input layers repeated from 1 channel,
    the head kept fresh when the class count differs; anything else must match in name and shape."""
    missing, unexpected = sorted(set(target) - set(weights)), sorted(set(weights) - set(target))
    if missing or unexpected:
        example = (missing or unexpected)[0]
        raise ModelError(f"{source}: not a SwinUNETR of this feature size, version and depths ({len(missing)} "
                         f"tensor(s) missing, {len(unexpected)} unexpected, e.g. '{example}')")
    state, notes = {}, []
    for key, mine in target.items():
        theirs = weights[key]
        repeated = _repeated(theirs, mine) if key in INPUT_LAYERS else None
        if theirs.shape == mine.shape:
            state[key] = theirs
        elif repeated is not None:
            state[key] = repeated
            notes.append(f"{key} copied into all {mine.shape[1]} input channels, on purpose")
        elif key.startswith(HEAD) and theirs.shape[1:] == mine.shape[1:]:
            state[key] = mine
            notes.append(f"{key} re-initialised for {mine.shape[0]} classes (pretrained: {theirs.shape[0]})")
        else:
            raise ModelError(f"{source}: '{key}' has shape {tuple(theirs.shape)}, the network needs "
                             f"{tuple(mine.shape)}; the checkpoint is of another SwinUNETR")
    return state, notes


def load_pretrained(network: SwinUNETR, path: Path) -> list[str]:
    """The self-supervised encoder or a whole SwinUNETR (strict) into `network`; returns what was adapted."""
    path = Path(path)
    checkpoint = load_checkpoint(path)
    weights = network_weights(checkpoint, path) if {"network_weights", "state_dict"} & set(checkpoint) else checkpoint
    if is_encoder_checkpoint(weights):
        return load_encoder(network, weights, path.name)
    state, notes = adapt_network(weights, network.state_dict(), path.name)
    network.load_state_dict(state, strict=True)
    return notes
