"""Will an STU-Net patch fit the device? Estimated from the network's size and its activations, and checked before
a stage runs, so a size too big for the device is refused with one line instead of an out-of-memory crash.

The activation estimate follows the inference forward pass (no gradients, float32, batch 1). Every encoder
output is kept for its skip connection until the end, and a residual block holds its input, its intermediate
maps and the projection at once: counted, three maps of the stage's width in a projecting encoder block and five
in a decoder block (whose input is the concatenation of two); measured on the CPU, one more in each
(Testing/benchmark_stunet_memory.py, figures in Testing/BENCHMARKS.md), which the counts below include. The
full-resolution stages dominate. The safety factor covers the rest (the allocator's slack, library workspaces).
nnU-Net's own networks are not checked here: its planner already sizes their patches for the GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import psutil
import torch

from ...errors import DeviceError
from .network import SIZES, STUNet

BYTES_PER_VALUE = 4  # float32
SAFETY = 1.25
GB = 1024 ** 3


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int  # bytes of parameters
    activations: int  # bytes of the largest set of feature maps alive at once

    @property
    def total(self) -> int:
        return self.weights + self.activations


def size_name(network: STUNet) -> str:
    """'small', 'base', ... for the published widths and depths, else 'custom'."""
    for name, spec in SIZES.items():
        if tuple(network.dims) == spec.dims and tuple(network.depth) == spec.depth:
            return name
    return "custom"


def stage_voxels(strides: Sequence[Sequence[int]], patch: Sequence[int]) -> list[int]:
    """Voxels per encoder stage: the patch, then divided by each stride in turn."""
    shape = np.asarray(patch, dtype=np.int64)
    voxels = [int(shape.prod())]
    for stride in strides:
        shape = shape // np.asarray(stride)
        voxels.append(int(shape.prod()))
    return voxels


def estimate(network: STUNet, patch: Sequence[int]) -> MemoryEstimate:
    """Bytes of weights and of peak activations for one patch through `network` at inference."""
    maps = [c * v for c, v in zip(network.dims, stage_voxels(network.strides, patch))]  # values per stage output
    block = 5 if max(network.depth) > 1 else 4  # a plain block also holds its input
    encoder = max(sum(maps[:d]) + block * maps[d] for d in range(len(maps)))
    decoder = sum(maps[:-1]) + 6 * max(maps[:-1])  # skips kept + a projecting block on (up, skip)
    in_and_out = (network.input_channels + network.num_classes) * maps[0] // network.dims[0]
    weights = sum(p.numel() for p in network.parameters()) * BYTES_PER_VALUE
    return MemoryEstimate(weights, (max(encoder, decoder) + in_and_out) * BYTES_PER_VALUE)


def available_bytes(device: torch.device) -> int:
    """Free memory on a CUDA device, else the RAM the operating system says is available."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    return psutil.virtual_memory().available


def required_bytes(network: STUNet, patch: Sequence[int], weights_loaded: bool) -> int:
    """What must still be free, with the safety factor; the weights count unless they are in that memory already."""
    need = estimate(network, patch)
    return int(SAFETY * (need.activations if weights_loaded else need.total))


def require_memory(network: torch.nn.Module, patch: Sequence[int], device: torch.device, what: str,
                   available: int | None = None, weights_loaded: bool | None = None) -> None:
    """Refuse an STU-Net whose patch can't fit the device's free memory; other networks pass unchecked.

    By default the weights are taken as loaded on the CPU (where a stage reads its checkpoint) and still to be
    moved to a GPU."""
    if not isinstance(network, STUNet):
        return
    loaded = device.type != "cuda" if weights_loaded is None else weights_loaded
    need = required_bytes(network, patch, loaded)
    available = available_bytes(device) if available is None else available
    if need <= available:
        return
    patch_text = "x".join(str(int(p)) for p in patch)
    advice = ("use a smaller STU-Net size or a GPU with more free memory, or run with --device cpu"
              if device.type == "cuda" else "use a smaller STU-Net size, free memory, or run on a GPU")
    raise DeviceError(f"{what}: STU-Net {size_name(network)} needs about {need / GB:.1f} GB for one {patch_text} "
                      f"patch, but {device} has {available / GB:.1f} GB free; {advice}")
