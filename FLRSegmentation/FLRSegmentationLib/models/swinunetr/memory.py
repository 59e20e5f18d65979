"""Will a SwinUNETR patch fit the device? The STU-Net check (models/stunet/memory.py) for MONAI's SwinUNETR: its
weights plus the largest set of values alive at once in one patch's inference pass (no gradients, float32,
batch 1), refused with one line before a stage runs instead of an out-of-memory crash.

Two places compete for the peak. The first Swin stage works on tokens of 2x2x2 voxels, padded up to whole 7^3
windows; its window attention holds, per token, a row of the window's 343 scores per head twice (the scores and
their softmax) plus the shifted-window mask, besides about eight token vectors (the input, q, k, v and the
block's copies). The last decoder block works at full resolution: the kept skip, the concatenation of two maps
and the residual block's intermediates, seven maps of the feature size in all. The counts follow MONAI's forward;
Testing/benchmark_swinunetr_memory.py measures them on the CPU (figures in Testing/BENCHMARKS.md). The safety
factor is the STU-Net check's.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from monai.networks.nets import SwinUNETR

from ...errors import DeviceError
from ..stunet.memory import BYTES_PER_VALUE, GB, SAFETY, MemoryEstimate, available_bytes
from .network import NUM_HEADS, spec_of_network

WINDOW = 7  # MONAI's default window, clipped to an axis shorter than it
TOKEN = 2  # voxels per token along each axis
DECODER_MAPS = 7  # feature-size maps alive in the full-resolution decoder block
TOKEN_VECTORS = 8  # token-width vectors alive in a Swin block besides the attention scores


def attention_values(tokens_per_axis: Sequence[int], channels: int, heads: int) -> int:
    """Values alive in one Swin stage's window attention over a grid of tokens."""
    window = [min(WINDOW, n) for n in tokens_per_axis]
    padded = int(np.prod([math.ceil(n / w) * w for n, w in zip(tokens_per_axis, window)]))
    window_tokens = int(np.prod(window))
    return padded * ((2 * heads + 1) * window_tokens + TOKEN_VECTORS * channels)


def estimate(network: SwinUNETR, patch: Sequence[int]) -> MemoryEstimate:
    """Bytes of weights and of peak activations for one patch through `network` at inference."""
    spec = spec_of_network(network)
    voxels = int(np.prod(patch))
    tokens = [int(p) // TOKEN for p in patch]
    attention = 0
    for stage, heads in enumerate(NUM_HEADS):
        attention = max(attention, attention_values([t >> stage for t in tokens], spec.feature_size << stage, heads))
    in_out = network.swinViT.patch_embed.proj.in_channels + network.out.conv.conv.out_channels
    decoder = DECODER_MAPS * spec.feature_size * voxels
    weights = sum(p.numel() for p in network.parameters()) * BYTES_PER_VALUE
    return MemoryEstimate(weights, (max(attention, decoder) + in_out * voxels) * BYTES_PER_VALUE)


def require_memory(network: torch.nn.Module, patch: Sequence[int], device: torch.device, what: str,
                   available: int | None = None, weights_loaded: bool | None = None) -> None:
    """Refuse a SwinUNETR whose patch can't fit the device's free memory; other networks pass unchecked."""
    if not isinstance(network, SwinUNETR):
        return
    loaded = device.type != "cuda" if weights_loaded is None else weights_loaded
    need_parts = estimate(network, patch)
    need = int(SAFETY * (need_parts.activations if loaded else need_parts.total))
    available = available_bytes(device) if available is None else available
    if need <= available:
        return
    patch_text = "x".join(str(int(p)) for p in patch)
    raise DeviceError(f"{what}: SwinUNETR (feature size {spec_of_network(network).feature_size}) needs about "
                      f"{need / GB:.1f} GB for one {patch_text} patch, but {device} has {available / GB:.1f} GB free; "
                      f"use a smaller feature size or patch, free memory, or run on a device with more")
