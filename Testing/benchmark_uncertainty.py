#!/usr/bin/env python
"""What the uncertain voxels (winning probability < 0.8) cost: one stage's box prediction with and without them.

    .venv/bin/python Testing/benchmark_uncertainty.py [--size 256 256 80] [--spacing 1.4 1.4 3.0] [--repeats 2]

The demo model's liver stage predicts a phantom of clinical proportions (whole image as the box) through
StagePredictor.predict_box, alternately without and with the uncertain-voxel output. The network's work is the
same both times, so the label step (logits -> labels on the image grid, RegionPrediction._labels) is timed on its
own, in CPU seconds (steadier on a shared machine): the difference is the cost of the wider band of interpolated
boundary voxels and of the probabilities there. No probability map is made: the extra memory is one uint8 per
voxel of the box. The last line: label_cpu_s=A with_uncertainty_cpu_s=B extra_percent=C stage_cpu_s=D
uncertain_percent=E (best of the repeats; D: the whole stage, network included; E: the share of the image's
voxels found uncertain).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch

from FLRSegmentationLib.inference.stage_predictor import StagePredictor
from FLRSegmentationLib.models.packages import REPO_MODELS_DIR, open_package
from FLRSegmentationLib.research.phantom import clinical_grid, make_phantom


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=3, default=(256, 256, 80))
    parser.add_argument("--spacing", type=float, nargs=3, default=(1.4, 1.4, 3.0))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    ct, _ = make_phantom(9001, grid=clinical_grid(tuple(args.size), tuple(args.spacing)))
    image = sitk.GetArrayFromImage(ct).astype(np.float32)
    spacing_zyx = tuple(args.spacing[::-1])
    box = tuple(slice(0, n) for n in image.shape)
    with tempfile.TemporaryDirectory(prefix="flrseg-bench-uncertainty-") as tmp:
        package = open_package(REPO_MODELS_DIR / "demo-phantom", Path(tmp))
        predictor = StagePredictor(package.stage("liver", Path(tmp)), torch.device(args.device), fast=True)
        label_step = predictor.region._labels
        label_cpu = []

        def timed_label_step(*a, **kw):
            start = time.process_time()
            try:
                return label_step(*a, **kw)
            finally:
                label_cpu.append(time.process_time() - start)

        predictor.region._labels = timed_label_step  # instrumentation of this benchmark only
        times = {"labels": [], "with_uncertainty": []}
        stage = []
        uncertain = None
        for _ in range(args.repeats):
            for name in times:
                out = np.zeros(image.shape, np.uint8) if name == "with_uncertainty" else None
                start = time.process_time()
                labels = predictor.predict_box([image], spacing_zyx, box, uncertain=out)
                stage.append(time.process_time() - start)
                times[name].append(label_cpu.pop())
                if out is not None:
                    uncertain = out
    plain, full = min(times["labels"]), min(times["with_uncertainty"])
    print(f"phantom {'x'.join(map(str, args.size))} at {args.spacing} mm, liver stage of demo-phantom, "
          f"{args.device}, threads={torch.get_num_threads()}; liver {int(labels.sum())} voxels")
    print("label step CPU seconds per run, without / with uncertain voxels:",
          " ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(times["labels"], times["with_uncertainty"])))
    print(f"label_cpu_s={plain:.2f} with_uncertainty_cpu_s={full:.2f} extra_percent={100 * (full - plain) / plain:.1f} "
          f"stage_cpu_s={min(stage):.2f} uncertain_percent={100 * np.count_nonzero(uncertain) / uncertain.size:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
