#!/usr/bin/env python
"""Benchmark the demo cascade on a phantom of clinical size on the CPU: wall time and peak RSS, as figures.

    .venv/bin/python Testing/benchmark_cascade.py [--size 512 512 150] [--spacing 0.8 0.8 2.5] [--strategy cascade]

Runs `flrseg segment` as a child process (as batch users and the Slicer module do) and reads the child's peak
resident memory from the operating system. Not a timed test: shared machines are noisy, compare runs side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import SimpleITK as sitk

from FLRSegmentationLib.phantom import clinical_grid, make_phantom


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=3, default=[512, 512, 150])
    parser.add_argument("--spacing", type=float, nargs=3, default=[0.8, 0.8, 2.5])
    parser.add_argument("--strategy", default="cascade", choices=["cascade", "e2e"])
    parser.add_argument("--model", default="demo-phantom")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="flrseg-bench-") as tmp:
        start = time.perf_counter()
        ct, _ = make_phantom(7, grid=clinical_grid(tuple(args.size), tuple(args.spacing)))
        ct_path = Path(tmp) / "bench.nii.gz"
        sitk.WriteImage(ct, str(ct_path), useCompression=True)
        print(f"phantom {'x'.join(map(str, args.size))} at {args.spacing} mm written in "
              f"{time.perf_counter() - start:.1f} s")
        flrseg = Path(sys.executable).parent / "flrseg"
        cmd = [str(flrseg), "segment", str(ct_path), "-o", str(Path(tmp) / "out"), "--device", "cpu",
               "--progress", "none", "--strategy", args.strategy, "--model", args.model]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=dict(os.environ))
        wall = time.perf_counter() - start
        peak_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report = json.loads((Path(tmp) / "out" / "bench_report.json").read_text())
    stages = " ".join(f"{k}={v:.1f}s" for k, v in report["stage_seconds"].items())
    print(f"device=cpu cores={os.cpu_count()} torch_threads={os.environ.get('OMP_NUM_THREADS', 'default')}")
    print(f"per-stage: {stages}")
    print(f"wall_s={wall:.1f} peak_rss_mb={peak_rss_mb:.0f} strategy={args.strategy} model={report['model']['label']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
