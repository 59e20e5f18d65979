"""How long a resection plan takes to follow a drag: the remnant, the planned FLR's volumetry and every tumour's margin
recomputed (and the surface mesh with its distances) after a control point moves, on a CT of clinical size.

    .venv/bin/python Testing/benchmark_resection.py [--size 512 512 200] [--spacing 0.7 0.7 1.25] [--drags 5]

The segmentation is the true label map of a phantom (seed 7) on that grid: a liver of clinical size with its
metastases and FLR. The planner is built once (what the Slicer module does when a segmentation is chosen), then each
"drag" moves the plane 1 mm along its normal, or one inner control point of a curved patch 2 mm, and evaluates the
plan. The last line reads `drag_update_seconds plane=X bezier=Y` (wall seconds, the median over the drags); the line
before gives the process's CPU seconds, which a busy shared machine does not inflate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import SimpleITK as sitk

from FLRSegmentationLib.imaging.image_grid import ImageGrid
from FLRSegmentationLib.research.phantom import clinical_grid, make_phantom
from FLRSegmentationLib.resection.plan import BezierCut, PlaneCut, ResectionPlan
from FLRSegmentationLib.resection.planner import ResectionPlanner
from FLRSegmentationLib.vocabulary.labels import split_label_map


def timed(planner: ResectionPlanner, plan: ResectionPlan) -> tuple[float, float, dict]:
    """Wall and CPU seconds of one update: evaluate the plan and mesh its surfaces."""
    start, cpu = time.perf_counter(), time.process_time()
    result = planner.evaluate(plan).result
    planner.meshes(plan)
    return time.perf_counter() - start, time.process_time() - cpu, result


def curved(cut: BezierCut, bend_mm: float, normal: np.ndarray) -> BezierCut:
    """The patch with its four inner control points moved bend_mm along the normal: a curved surface."""
    points = np.array(cut.control_points)
    for index in (5, 6, 9, 10):
        points[index] += bend_mm * normal
    return BezierCut(cut.name, tuple(map(tuple, points)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=3, default=[512, 512, 200])
    parser.add_argument("--spacing", type=float, nargs=3, default=[0.7, 0.7, 1.25])
    parser.add_argument("--drags", type=int, default=5)
    args = parser.parse_args()
    _, truth = make_phantom(7, grid=clinical_grid(tuple(args.size), tuple(args.spacing)))
    masks = split_label_map(sitk.GetArrayViewFromImage(truth))
    start = time.perf_counter()
    planner = ResectionPlanner(masks["liver"], masks["crlm"], ImageGrid.of_image(truth), masks["flr"])
    setup = time.perf_counter() - start
    print(f"grid {'x'.join(map(str, args.size))} at {args.spacing} mm; liver {planner.liver_voxels} voxels, "
          f"box {'x'.join(map(str, planner.box.shape))} (k, j, i), {planner.tumours.count} tumours; "
          f"planner built in {setup:.2f} s; {os.cpu_count()} CPUs")

    plane = planner.initial_plan("plane").resections[0]
    normal = plane.unit_normal
    patch = curved(planner.initial_plan("bezier").resections[0], 15.0, normal)
    timed(planner, ResectionPlan((plane,)))  # warm-up: the first call allocates what later ones reuse
    plane_times, patch_times = [], []
    for drag in range(1, args.drags + 1):
        moved = PlaneCut(plane.name, tuple(np.asarray(plane.origin) + drag * normal), plane.normal)
        seconds, cpu, result = timed(planner, ResectionPlan((moved,)))
        plane_times.append((seconds, cpu))
        print(f"plane drag {drag}: {seconds:.3f} s ({cpu:.3f} s CPU), FLR {result['flr_percent']} %, "
              f"margins {[t['margin_mm'] for t in result['tumours']]}")
    for drag in range(1, args.drags + 1):
        points = np.array(patch.control_points)
        points[5] += 2.0 * drag * normal
        moved = BezierCut(patch.name, tuple(map(tuple, points)))
        seconds, cpu, result = timed(planner, ResectionPlan((moved,)))
        patch_times.append((seconds, cpu))
        print(f"bezier drag {drag}: {seconds:.3f} s ({cpu:.3f} s CPU), FLR {result['flr_percent']} %, "
              f"margins {[t['margin_mm'] for t in result['tumours']]}")
    wall = {name: statistics.median(t[0] for t in times) for name, times in (("plane", plane_times),
                                                                              ("bezier", patch_times))}
    cpu = {name: statistics.median(t[1] for t in times) for name, times in (("plane", plane_times),
                                                                             ("bezier", patch_times))}
    print(f"CPU seconds (median): plane={cpu['plane']:.3f} bezier={cpu['bezier']:.3f}")
    print(f"drag_update_seconds plane={wall['plane']:.3f} bezier={wall['bezier']:.3f}")


if __name__ == "__main__":
    main()
