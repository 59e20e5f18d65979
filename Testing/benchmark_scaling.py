#!/usr/bin/env python
"""How the peer (nnU-Net's own predictor per stage) and the optimised engine grow with the CT: wall s and peak RSS.

    .venv/bin/python Testing/benchmark_scaling.py [--slices 100 200 400 800] [--in-plane 512] [--threads 1]

Thinner and thinner slices of the same 358 x 358 x 250 mm field of view (512 x 512 at 0.7 mm, 250 mm / slices
thick): 26, 52, 105 and 210 M voxels by default, the timing package of benchmark_cascade.py (demo liver, untrained
full-architecture CRLM and FLR), each run in its own child process. The last lines give the bytes per voxel each
adds (the least-squares slope of peak RSS against voxels) and its fixed part (the intercept: the process, the
networks, the tiles' activations).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmark_cascade import phantom_file, run_child, timing_package
from FLRSegmentationLib.inference.speed_options import SpeedOptions

FIELD_MM = 250.0  # cranio-caudal field of view, as the 512 x 512 x 200 phantom at 1.25 mm


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, nargs="+", default=[100, 200, 400, 800])
    parser.add_argument("--in-plane", type=int, default=512, help="voxels per row and column, 0.7 mm at 512")
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--plan-spacing", type=float, nargs=3, default=[2.5, 1.4, 1.4])
    parser.add_argument("--patch", type=int, nargs=3, default=[64, 192, 192])
    parser.add_argument("--threads", type=int, help="torch CPU threads in every run")
    parser.add_argument("--phantom-cache", help="a folder to keep rendered phantoms in and read them from")
    args = parser.parse_args()
    speed = SpeedOptions(mirroring=False)
    rows = []
    with tempfile.TemporaryDirectory(prefix="flrseg-scaling-") as tmp:
        tmp = Path(tmp)
        timing = timing_package(tmp / "timing", args.plan_spacing, args.patch, args.features)
        header = (f"{'size':<14}{'M voxels':>9}{'peer s':>9}{'cpu s':>8}{'peer MB':>9}{'engine s':>10}{'cpu s':>8}"
                  f"{'engine MB':>11}{'speedup':>9}{'cpu':>6}{'memory':>8}")
        print(header, flush=True)
        for slices in args.slices:
            in_plane = 0.7 * 512 / args.in_plane
            size, spacing = (args.in_plane, args.in_plane, slices), (in_plane, in_plane, FIELD_MM / slices)
            ct_path, _ = phantom_file(argparse.Namespace(size=list(size), spacing=list(spacing), seed=7,
                                                         phantom_cache=args.phantom_cache), tmp)
            figures = {}
            for name in ("peer", "optimised"):
                spec = {"package": str(timing), "peer": name == "peer", "ct": str(ct_path),
                        "out": str(tmp / "labels.npy"), "speed": speed.as_dict(), "device": "cpu",
                        "threads": args.threads}
                figures[name] = run_child(spec)
            peer, engine = figures["peer"], figures["optimised"]
            voxels = int(np.prod(size))
            rows.append((voxels, peer["peak_rss_mb"], engine["peak_rss_mb"]))
            print(f"{'x'.join(map(str, size)):<14}{voxels / 1e6:>9.1f}{peer['seconds']:>9.1f}{peer['cpu_s']:>8.1f}"
                  f"{peer['peak_rss_mb']:>9.0f}{engine['seconds']:>10.1f}{engine['cpu_s']:>8.1f}"
                  f"{engine['peak_rss_mb']:>11.0f}{peer['seconds'] / engine['seconds']:>9.2f}"
                  f"{peer['cpu_s'] / engine['cpu_s']:>6.2f}{peer['peak_rss_mb'] / engine['peak_rss_mb']:>8.2f}",
                  flush=True)
    if len(rows) >= 2:
        voxels = np.array([r[0] for r in rows], float)
        for column, name in ((1, "peer"), (2, "engine")):
            slope, intercept = np.polyfit(voxels, np.array([r[column] for r in rows]) * 2 ** 20, 1)
            print(f"{name}: {slope:.1f} bytes per voxel on top of {intercept / 2 ** 20:.0f} MB")
    return 0


if __name__ == "__main__":
    begin = time.perf_counter()
    code = main()
    print(f"total {time.perf_counter() - begin:.0f} s")
    sys.exit(code)
