#!/usr/bin/env python
"""Peak memory of STU-Net S, B, L and H for one 128^3 patch at inference, each size measured in a child process.

    .venv/bin/python Testing/benchmark_stunet_memory.py [--sizes small base large huge] [--device cpu|cuda]
                                                        [--patch 128] [--limit-gb 20]

Each size is first put through the engine's own check (models.stunet.memory.require_memory) against the memory free
now, capped at --limit-gb: a size that would not fit is reported as refused, with the engine's message, and not
run. The child builds the network (random weights), runs one forward pass without gradients and reports its
peak resident memory (CPU) or the peak allocated by PyTorch (GPU). The CRLM stage's shape is the default:
2 input channels (CT, liver), 2 classes. Figures go to Testing/BENCHMARKS.md.
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
from FLRSegmentationLib.models.stunet.memory import GB, available_bytes, estimate, require_memory  # noqa: E402
from FLRSegmentationLib.models.stunet.network import SIZES, STUNet  # noqa: E402

PUBLISHED = ("small", "base", "large", "huge")
STRIDES = [[2, 2, 2]] * 4 + [[1, 1, 2]]  # the published plans (1.5 mm, 128^3 patches)


def network(size: str, inputs: int, classes: int) -> STUNet:
    spec = SIZES[size]
    return STUNet(inputs, classes, spec.depth, spec.dims, STRIDES).eval()


def child(size: str, patch: int, inputs: int, classes: int, device: str) -> dict:
    """Runs in its own process: build, one forward pass, peak memory."""
    rss = psutil.Process().memory_info().rss
    net = network(size, inputs, classes).to(device)
    built = psutil.Process().memory_info().rss
    x = torch.zeros(1, inputs, patch, patch, patch, device=device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        start_alloc = torch.cuda.memory_allocated()
    start = time.perf_counter()
    with torch.inference_mode():
        net(x)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    result = {"seconds": round(seconds, 1), "rss_start_gb": rss / GB, "rss_built_gb": built / GB,
              "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GB}
    if device == "cuda":
        result.update(gpu_weights_gb=start_alloc / GB, gpu_peak_gb=torch.cuda.max_memory_allocated() / GB,
                      gpu_name=torch.cuda.get_device_name())
    return result


def measure(size: str, args) -> dict:
    cmd = [sys.executable, __file__, "--child", size, "--patch", str(args.patch), "--inputs", str(args.inputs),
           "--classes", str(args.classes), "--device", args.device]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(PUBLISHED), choices=list(SIZES))
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--patch", type=int, default=128)
    parser.add_argument("--inputs", type=int, default=2)
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--limit-gb", type=float, default=20.0, help="refuse sizes needing more than this")
    parser.add_argument("--child", choices=list(SIZES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.patch, args.inputs, args.classes, args.device)))
        return 0
    device = torch.device(args.device)
    patch = [args.patch] * 3
    print(f"STU-Net, one {args.patch}^3 patch, {args.inputs} input channels, {args.classes} classes, "
          f"device {args.device}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("size | parameters M | weights GB | estimated activations GB | measured activations GB | "
          "peak GB | forward s")
    for size in args.sizes:
        with torch.device("meta"):
            meta_network = network(size, args.inputs, args.classes)
        need = estimate(meta_network, patch)
        head = f"{size} | {need.weights / 4 / 1e6:.1f} | {need.weights / GB:.2f} | {need.activations / GB:.2f}"
        free = min(available_bytes(device), int(args.limit_gb * GB))
        try:  # the child allocates the weights too
            require_memory(meta_network, patch, device, size, available=free, weights_loaded=False)
        except DeviceError as refusal:
            print(f"{head} | refused: {refusal} |  | ")
            continue
        got = measure(size, args)
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
