#!/usr/bin/env python
"""Cohort throughput: the same phantoms segmented by one process, then on local Dask clusters of 1 and 2 workers.

    .venv/bin/python Testing/benchmark_cluster.py [--cases 8] [--workers 1 2] [--model demo-phantom]

Every variant is a fresh `flrseg segment` process (`--progress lines`, each line timed as it arrives): *start* is
the time until the first case began (for a cluster: starting the workers and opening the model on each),
*cases* the time from there to the last case written, *CPU s* the user + system time of the process and all its
children (workers included). A cluster's workers share the machine's cores (torch threads = cores / workers).
Each cluster's label maps are compared voxel for voxel with the single-process run's. Figures go to
Testing/BENCHMARKS.md.
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

import numpy as np
import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "FLRSegmentation"))

from FLRSegmentationLib.inference.progress import parse_progress_line  # noqa: E402
from FLRSegmentationLib.research.phantom import make_phantom  # noqa: E402

FIRST_SEED = 9001  # unseen by the demo models (trained on 1000-1015)


def write_phantoms(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for seed in range(FIRST_SEED, FIRST_SEED + count):
        paths.append(folder / f"phantom{seed}.nrrd")
        sitk.WriteImage(make_phantom(seed)[0], str(paths[-1]), useCompression=True)
    return paths


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(paths: list[Path], out: Path, model: str, cluster: str | None) -> dict:
    """One timed `flrseg segment` run; the moments its first case began and its last case was written."""
    command = [sys.executable, "-m", "FLRSegmentationLib.cli", "segment", *map(str, paths), "-o", str(out),
               "--model", model, "--device", "cpu", "--progress", "lines"]
    command += ["--cluster", cluster] if cluster else []
    cpu, start = children_cpu(), time.perf_counter()
    first = last = None
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        for line in proc.stdout:
            record = parse_progress_line(line.rstrip("\n"))
            if record is None:
                continue
            now = time.perf_counter() - start
            begins = record["stage"] == ("segment" if cluster else "read")
            if first is None and begins:
                first = now
            if record["stage"] != "done" and (cluster is None or record["fraction"] > 0):
                last = now
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {proc.returncode}")
    return {"variant": cluster or "one process", "wall_s": wall, "start_s": first, "cases_s": last - first,
            "cpu_s": children_cpu() - cpu}


def same_labels(out: Path, reference: Path, paths: list[Path]) -> bool:
    def read(folder, path):
        return sitk.GetArrayFromImage(sitk.ReadImage(str(folder / f"{path.stem}_seg.nii.gz")))

    return all(np.array_equal(read(out, p), read(reference, p)) for p in paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--model", default="demo-phantom")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flrseg-bench-cluster-") as tmp:
        paths = write_phantoms(Path(tmp) / "in", args.cases)
        size = "x".join(map(str, sitk.ReadImage(str(paths[0])).GetSize()))
        print(f"{args.cases} phantoms (the first {size} voxels), model {args.model}, {os.cpu_count()} cores")
        rows = [run(paths, Path(tmp) / "single", args.model, None)]
        for workers in args.workers:
            out = Path(tmp) / f"local{workers}"
            rows.append(run(paths, out, args.model, f"local:{workers}"))
            rows[-1]["identical"] = same_labels(out, Path(tmp) / "single", paths)
            batch = json.loads((out / "flrseg_batch.json").read_text())["cases"]
            rows[-1]["per_worker"] = sorted(sum(r["worker"] == w for r in batch) for w in {r["worker"] for r in batch})
    print("| variant | wall s | start s | cases s | cases per minute | CPU s | label maps as one process |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        same = {True: "identical", False: "DIFFER", None: "(reference)"}[row.get("identical")]
        print(f"| {row['variant']} | {row['wall_s']:.1f} | {row['start_s']:.1f} | {row['cases_s']:.1f} | "
              f"{60 * args.cases / row['cases_s']:.1f} | {row['cpu_s']:.1f} | {same} |")
    by_variant = {row["variant"]: row for row in rows}
    if "local:1" in by_variant and "local:2" in by_variant:
        print(f"cases per worker (local:2): {by_variant['local:2']['per_worker']}")
        print(f"speedup_2_vs_1={by_variant['local:1']['cases_s'] / by_variant['local:2']['cases_s']:.2f} "
              f"wall_speedup_2_vs_1={by_variant['local:1']['wall_s'] / by_variant['local:2']['wall_s']:.2f}")


if __name__ == "__main__":
    main()
