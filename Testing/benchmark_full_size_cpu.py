"""How slow a full-size nnU-Net network is on the CPU: the basis of the module's CPU note for full-size models.

Times forward passes of a default-size nnU-Net 3d_fullres network (6 stages, 32-320 features, 31 M parameters,
as nnU-Net plans for abdominal CT) on one 128^3 patch, and prints how many patches nnU-Net's sliding window
(step 0.5) takes for a 512 x 512 x 150 CT at its own spacing. The demo networks are far smaller, so their speed
(Testing/BENCHMARKS.md) says nothing about a full-size model's.

    nice -n 5 .venv/bin/python Testing/benchmark_full_size_cpu.py --threads 2
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
from dynamic_network_architectures.architectures.unet import PlainConvUNet
from nnunetv2.inference.sliding_window_prediction import compute_steps_for_sliding_window
from torch import nn

PATCH = (128, 128, 128)
CT_SHAPE = (150, 512, 512)  # z, y, x


def default_network() -> nn.Module:
    return PlainConvUNet(1, 6, [32, 64, 128, 256, 320, 320], nn.Conv3d, 3, [1, 2, 2, 2, 2, 2], [2] * 6, 4, [2] * 5,
                         conv_bias=True, norm_op=nn.InstanceNorm3d, norm_op_kwargs={"eps": 1e-5, "affine": True},
                         nonlin=nn.LeakyReLU, nonlin_kwargs={"inplace": True}, deep_supervision=False).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    network = default_network()
    patch = torch.randn(1, 1, *PATCH)
    seconds = []
    with torch.inference_mode():
        for _ in range(args.passes):
            start = time.perf_counter()
            network(patch)
            seconds.append(time.perf_counter() - start)
    patches = math.prod(len(steps) for steps in compute_steps_for_sliding_window(CT_SHAPE, PATCH, 0.5))
    median = statistics.median(seconds)
    print(f"{sum(p.numel() for p in network.parameters()) / 1e6:.1f} M parameters, {args.threads} threads: "
          f"{', '.join(f'{s:.1f}' for s in seconds)} s per patch (median {median:.1f} s)")
    print(f"{patches} patches for a {'x'.join(map(str, CT_SHAPE[::-1]))} CT: {patches * median / 60:.0f} min per "
          f"network and fold without mirroring (Fast), x8 with mirroring")


if __name__ == "__main__":
    main()
