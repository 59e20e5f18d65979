"""STU-Net (Huang et al., "STU-Net: Scalable and Transferable Medical Image Segmentation Models Empowered by
Large-Scale Supervised Pre-training", 2023), written here from its published description (docs/DATASET.md
section 4).

STU-Net's own code targets nnU-Net 2.2, and nnunetv2 2.8 can't build it. This module keeps the published
constructor's hyper-parameters and the published state-dict names and shapes, so the published checkpoints of
all four sizes load with `strict=True`; `network_from_plans` builds it for a stage from nnU-Net plans, for our
trainers (models/nnunet_trainers/stunet_trainers.py) and for inference (network_builders.NETWORK_BUILDERS) alike.

Architecture: residual blocks (conv 3x3x3 -> InstanceNorm -> LeakyReLU -> conv -> InstanceNorm, plus the input,
through a strided 1x1x1 projection `conv3` in a stage's first block, then LeakyReLU); six encoder stages that
down-sample with strided convolutions; nearest-neighbour up-sampling followed by a 1x1x1 convolution; a decoder
stage on (up-sampled, skip) and a 1x1x1 segmentation head per decoder stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from dynamic_network_architectures.initialization.weight_init import InitWeights_He
from torch import nn

from ...errors import ModelError

N_STAGES = 6  # encoder stages; there are N_STAGES - 1 strides, up-samplings, decoder stages and heads
KERNEL = [3, 3, 3]


class ResidualBlock(nn.Module):
    """conv1 (stride) -> norm1 -> act -> conv2 -> norm2, + input (through conv3 when projecting) -> act."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Sequence[int], stride=1,
                 project: bool = False):
        super().__init__()
        padding = [k // 2 for k in kernel_size]
        self.conv1 = nn.Conv3d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
        self.norm1 = nn.InstanceNorm3d(out_channels, affine=True)
        self.conv2 = nn.Conv3d(out_channels, out_channels, kernel_size, padding=padding)
        self.norm2 = nn.InstanceNorm3d(out_channels, affine=True)
        self.conv3 = nn.Conv3d(in_channels, out_channels, 1, stride=stride) if project else None
        self.act = nn.LeakyReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        y += x if self.conv3 is None else self.conv3(x)
        return self.act(y)


class NearestUpsample(nn.Module):
    """Nearest-neighbour up-sampling by the stage's stride, then a 1x1x1 convolution to the skip's width."""

    def __init__(self, in_channels: int, out_channels: int, stride: Sequence[int]):
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, kernel_size=1)
        self.scale = tuple(float(s) for s in stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(nn.functional.interpolate(x, scale_factor=self.scale, mode="nearest"))


def _stage(in_channels: int, out_channels: int, depth: int, kernel_size, stride=1) -> nn.Sequential:
    """A projecting block (which also down-samples by `stride`) followed by depth - 1 plain blocks."""
    return nn.Sequential(ResidualBlock(in_channels, out_channels, kernel_size, stride, project=True),
                         *[ResidualBlock(out_channels, out_channels, kernel_size) for _ in range(depth - 1)])


class STUNet(nn.Module):
    """The published constructor's hyper-parameters; with deep supervision the output is a tuple, full resolution
    first, then each coarser head; without it, the full-resolution logits alone."""

    def __init__(self, input_channels: int, num_classes: int, depth: Sequence[int] = (1,) * N_STAGES,
                 dims: Sequence[int] = (32, 64, 128, 256, 512, 512), pool_op_kernel_sizes=None,
                 conv_kernel_sizes=None, enable_deep_supervision: bool = True):
        super().__init__()
        strides = [list(s) for s in (pool_op_kernel_sizes or [[2, 2, 2]] * (N_STAGES - 1))]
        kernels = [list(k) for k in (conv_kernel_sizes or [KERNEL] * N_STAGES)]
        if not (len(dims) == len(depth) == len(kernels) == len(strides) + 1):
            raise ValueError(f"STU-Net needs one dim, depth and kernel per stage and one stride fewer; got "
                             f"{len(dims)} dims, {len(depth)} depths, {len(kernels)} kernels, {len(strides)} strides")
        self.input_channels = input_channels
        self.num_classes = num_classes
        self.dims = tuple(dims)
        self.depth = tuple(depth)
        self.strides = strides
        self.deep_supervision = enable_deep_supervision
        n_up = len(strides)
        self.conv_blocks_context = nn.ModuleList(
            [_stage(input_channels, dims[0], depth[0], kernels[0])]
            + [_stage(dims[d - 1], dims[d], depth[d], kernels[d], strides[d - 1]) for d in range(1, n_up + 1)])
        self.upsample_layers = nn.ModuleList(
            [NearestUpsample(dims[-1 - u], dims[-2 - u], strides[-1 - u]) for u in range(n_up)])
        self.conv_blocks_localization = nn.ModuleList(
            [_stage(2 * dims[-2 - u], dims[-2 - u], depth[-2 - u], kernels[-2 - u]) for u in range(n_up)])
        self.seg_outputs = nn.ModuleList([nn.Conv3d(dims[-2 - u], num_classes, 1) for u in range(n_up)])
        self.apply(InitWeights_He(1e-2))

    def forward(self, x: torch.Tensor):
        skips = []
        for stage in self.conv_blocks_context[:-1]:
            x = stage(x)
            skips.append(x)
        x = self.conv_blocks_context[-1](x)
        outputs = []
        for u, (up, stage, skip) in enumerate(zip(self.upsample_layers, self.conv_blocks_localization,
                                                  reversed(skips))):
            x = stage(torch.cat((up(x), skip), dim=1))
            if self.deep_supervision:
                outputs.append(self.seg_outputs[u](x))
        return tuple(reversed(outputs)) if self.deep_supervision else self.seg_outputs[-1](x)


@dataclass(frozen=True)
class STUNetSize:
    dims: tuple[int, ...]  # widths of the six stages
    depth: tuple[int, ...]  # residual blocks per stage

    @classmethod
    def scaled(cls, base: int, depth: int) -> "STUNetSize":
        return cls(tuple(base * m for m in (1, 2, 4, 8, 16, 16)), (depth,) * N_STAGES)


# The published sizes, then ours: "demo" trains on a CPU in minutes and ships in a package of under 2 MB.
SIZES = {
    "small": STUNetSize.scaled(16, 1),
    "base": STUNetSize.scaled(32, 1),
    "large": STUNetSize.scaled(64, 2),
    "huge": STUNetSize.scaled(96, 3),
    "demo": STUNetSize((4, 8, 16, 16, 16, 16), (1,) * N_STAGES),
}
TRAINER_PREFIX = "STUNetTrainer"


def is_stunet_trainer(trainer: str) -> bool:
    return trainer == TRAINER_PREFIX or trainer.startswith(TRAINER_PREFIX + "_")


def size_of_trainer(trainer: str) -> str:
    """'STUNetTrainer' -> 'base' (as published), 'STUNetTrainer_large_ft' -> 'large'."""
    parts = trainer.split("_")
    if not is_stunet_trainer(trainer) or (len(parts) > 1 and parts[1] not in SIZES):
        raise ModelError(f"'{trainer}' is not a known STU-Net trainer; known sizes: {', '.join(SIZES)} "
                         f"(e.g. {TRAINER_PREFIX}_small, {TRAINER_PREFIX}_base_ft)")
    return parts[1] if len(parts) > 1 else "base"


def plan_strides(pool_op_kernel_sizes) -> list[list[int]]:
    """The plan's pool kernels after the first, cut or padded with [1, 1, 1] to STU-Net's five strides."""
    strides = [list(s) for s in pool_op_kernel_sizes[1:N_STAGES]]
    if any(len(s) != 3 for s in strides):
        raise ModelError("STU-Net is a 3D network; this configuration's plans are not 3D")
    return strides + [[1, 1, 1]] * (N_STAGES - 1 - len(strides))


def network_from_plans(size: str, configuration_manager, num_input_channels: int, num_output_channels: int,
                       deep_supervision: bool) -> STUNet:
    """STU-Net of a size for a stage whose plans configuration gives the strides."""
    spec = SIZES[size]
    return STUNet(num_input_channels, num_output_channels, depth=spec.depth, dims=spec.dims,
                  pool_op_kernel_sizes=plan_strides(configuration_manager.pool_op_kernel_sizes),
                  conv_kernel_sizes=[KERNEL] * N_STAGES, enable_deep_supervision=deep_supervision)


def network_builders() -> list:
    """(trainer-name predicate, builder) pairs for network_builders.NETWORK_BUILDERS, one per size: inference
    networks, without deep supervision. An unknown STU-Net trainer name is refused by the predicate."""

    def pair(size: str):
        def matches(trainer: str) -> bool:
            return is_stunet_trainer(trainer) and size_of_trainer(trainer) == size

        def build(plans_manager, configuration_manager, n_inputs: int, n_outputs: int) -> STUNet:
            return network_from_plans(size, configuration_manager, n_inputs, n_outputs, deep_supervision=False)

        return matches, build

    return [pair(size) for size in SIZES]
