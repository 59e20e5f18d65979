#!/usr/bin/env python
"""Peak memory of MONAI's SwinUNETR at feature sizes 12, 24 and 48 for one patch at inference, each measured in a
child process, against the engine's estimate (models.swinunetr.memory).

    .venv/bin/python Testing/benchmark_swinunetr_memory.py [--features 12 24 48] [--patch 96] [--device cpu|cuda]
                                                           [--v2] [--limit-gb 20]

Each network first goes through the engine's own check (require_memory) against the memory free now, capped at
--limit-gb: one that would not fit is reported as refused, with the engine's message, and not run. The child
builds the network (random weights), runs one forward pass without gradients and reports its peak resident memory
(CPU) or the peak allocated by PyTorch (GPU). The FLR stage's shape is the default: 3 input channels (CT, liver,
CRLM), 2 classes. Figures go to Testing/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import psutil
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "FLRSegmentation"))

from FLRSegmentationLib.errors import DeviceError  # noqa: E402
from FLRSegmentationLib.models.stunet.memory import GB, available_bytes  # noqa: E402
from FLRSegmentationLib.models.swinunetr.memory import estimate, require_memory  # noqa: E402
from FLRSegmentationLib.models.swinunetr.network import SwinUNETRSpec, build_swinunetr  # noqa: E402


def network(features: int, v2: bool, inputs: int, classes: int):
    return build_swinunetr(SwinUNETRSpec(features, v2), inputs, classes).eval()


def child(features: int, args) -> dict:
    """Runs in its own process: build, one forward pass, peak memory."""
    rss = psutil.Process().memory_info().rss
    net = network(features, args.v2, args.inputs, args.classes).to(args.device)
    built = psutil.Process().memory_info().rss
    x = torch.zeros(1, args.inputs, *[args.patch] * 3, device=args.device)
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        start_alloc = torch.cuda.memory_allocated()
    start = time.perf_counter()
    with torch.inference_mode():
        net(x)
    if args.device == "cuda":
        torch.cuda.synchronize()
    result = {"seconds": round(time.perf_counter() - start, 1), "rss_start_gb": rss / GB, "rss_built_gb": built / GB,
              "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GB}
    if args.device == "cuda":
        result.update(gpu_weights_gb=start_alloc / GB, gpu_peak_gb=torch.cuda.max_memory_allocated() / GB,
                      gpu_name=torch.cuda.get_device_name())
    return result


def measure(features: int, args) -> dict:
    cmd = [sys.executable, __file__, "--child", str(features), "--patch", str(args.patch), "--inputs",
           str(args.inputs), "--classes", str(args.classes), "--device", args.device, *(["--v2"] if args.v2 else [])]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", nargs="+", type=int, default=[12, 24, 48])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--patch", type=int, default=96, help="cube side, a multiple of 32 (published: 96)")
    parser.add_argument("--v2", action="store_true", help="SwinUNETR-V2")
    parser.add_argument("--inputs", type=int, default=3)
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--limit-gb", type=float, default=20.0, help="refuse networks needing more than this")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args)))
        return 0
    device = torch.device(args.device)
    patch = [args.patch] * 3
    print(f"SwinUNETR{'-V2' if args.v2 else ''}, one {args.patch}^3 patch, {args.inputs} input channels, "
          f"{args.classes} classes, device {args.device}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("feature size | parameters M | weights GB | estimated activations GB | measured activations GB | "
          "peak GB | forward s")
    for features in args.features:
        built = network(features, args.v2, args.inputs, args.classes)
        need = estimate(built, patch)
        head = f"{features} | {need.weights / 4 / 1e6:.1f} | {need.weights / GB:.2f} | {need.activations / GB:.2f}"
        free = min(available_bytes(device), int(args.limit_gb * GB))
        try:  # the child allocates the weights too
            require_memory(built, patch, device, f"feature size {features}", available=free, weights_loaded=False)
        except DeviceError as refusal:
            print(f"{head} | refused: {refusal} |  | ")
            continue
        del built
        got = measure(features, args)
        if "error" in got:
            print(f"{head} | failed: {got['error']} |  | ")
        elif args.device == "cuda":
            activations = got["gpu_peak_gb"] - got["gpu_weights_gb"]
            print(f"{head} | {activations:.2f} | {got['gpu_peak_gb']:.2f} (GPU, {got['gpu_name']}) | {got['seconds']}")
        else:
            activations = got["peak_rss_gb"] - got["rss_built_gb"]
            print(f"{head} | {activations:.2f} | {got['peak_rss_gb']:.2f} (process RSS; "
                  f"{got['rss_start_gb']:.2f} before building) | {got['seconds']}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
