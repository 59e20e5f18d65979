"""Start an STU-Net from a pretrained checkpoint (a published one, or one trained here) for a stage of ours.

Our cascade stages take extra mask channels and have their own classes: the pretrained first layer (`conv1` and
its projection `conv3` in the first block) is repeated across the new input channels, as STU-Net's own fine-tuning
does, and the segmentation heads keep their fresh initialisation when the class count differs. Every other tensor
must match in name and shape: a checkpoint of another size is refused. Read with weights_only=True, nnU-Net v1
(`state_dict`) or v2 (`network_weights`) alike.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ...errors import ModelError
from ..checkpoint import load_checkpoint, network_weights

PRETRAINED_VARIABLE = "FLRSEG_STUNET_PRETRAINED"  # how nnUNetv2_train hands our STU-Net trainers a checkpoint
FIRST_LAYER = ("conv_blocks_context.0.0.conv1.weight", "conv_blocks_context.0.0.conv3.weight")
HEADS = "seg_outputs."


def _single_channel_of(theirs: torch.Tensor, mine: torch.Tensor) -> bool:
    """A one-input-channel kernel that differs from ours in its input channels alone."""
    return theirs.ndim == mine.ndim == 5 and theirs.shape[1] == 1 and theirs.shape[0] == mine.shape[0] \
        and theirs.shape[2:] == mine.shape[2:]


def adapt_pretrained(pretrained: dict, target: dict, source: str) -> tuple[dict, list[str]]:
    """The state dict to load into a network whose own state dict is `target`, and what was adapted."""
    unexpected = sorted(set(pretrained) - set(target))
    missing = sorted(set(target) - set(pretrained))
    if unexpected or missing:
        example = (missing or unexpected)[0]
        raise ModelError(f"{source}: not an STU-Net of this size ({len(missing)} tensor(s) missing, "
                         f"{len(unexpected)} unexpected, e.g. '{example}'); use a checkpoint of the trainer's size")
    state, notes = {}, []
    for key, mine in target.items():
        theirs = pretrained[key]
        if theirs.shape == mine.shape:
            state[key] = theirs
        elif key in FIRST_LAYER and _single_channel_of(theirs, mine):
            state[key] = theirs.repeat(1, mine.shape[1], 1, 1, 1)
            notes.append(f"{key} repeated over {mine.shape[1]} input channels")
        elif key.startswith(HEADS) and theirs.shape[1:] == mine.shape[1:]:
            state[key] = mine
            notes.append(f"{key} re-initialised for {mine.shape[0]} classes (pretrained: {theirs.shape[0]})")
        else:
            raise ModelError(f"{source}: '{key}' has shape {tuple(theirs.shape)}, the network needs "
                             f"{tuple(mine.shape)}; the checkpoint is of another STU-Net size or input")
    return state, notes


def load_pretrained(network: torch.nn.Module, path: Path) -> list[str]:
    """Load a pretrained STU-Net checkpoint into `network` (strict), adapting channels and heads; returns notes."""
    path = Path(path)
    weights = network_weights(load_checkpoint(path), path)
    state, notes = adapt_pretrained(weights, network.state_dict(), path.name)
    network.load_state_dict(state, strict=True)
    return notes
