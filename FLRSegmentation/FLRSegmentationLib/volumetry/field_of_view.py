"""Was the whole liver scanned? A liver that reaches a face of the scanned volume was cut by the scan.

The check is made in the scanned grid: the CT's own grid for the engine's label map, and for a `.seg.nrrd` the
reference image geometry Slicer records (the labelmap itself may be cropped to the segments, so its own faces say
nothing). Each liver voxel's index is carried into the scanned grid; a voxel within half a voxel of the grid's
first or last index on an axis lies on that face. A cut liver gives `complete: false` and the verdicts are withheld
(verdict_checks.py); without a scanned grid the check can't be made and `complete` is None, never True.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .result_warnings import FIELD_OF_VIEW_UNCHECKED, LIVER_CUT_BY_SCAN, warning

FACE_NAMES = (("the first column", "the last column"), ("the first row", "the last row"),
              ("the first slice", "the last slice"))


@dataclass(frozen=True)
class ScanGrid:
    """A voxel grid: index (i, j, k) to world (any one space for both grids compared) and its index extent."""

    index_to_world: np.ndarray  # 4 x 4
    extent: tuple[int, int, int, int, int, int]  # i0 i1 j0 j1 k0 k1, inclusive


def cut_faces(mask: np.ndarray, mask_grid: ScanGrid, scan_grid: ScanGrid) -> list[str]:
    """The faces of scan_grid the mask (z, y, x, on mask_grid) reaches or crosses, in FACE_NAMES order."""
    if not mask.any():
        return []
    to_scan = np.linalg.inv(scan_grid.index_to_world) @ mask_grid.index_to_world
    start = np.asarray(mask_grid.extent[0::2], float)
    low, high = _index_range(mask, to_scan, start)
    faces = []
    for axis in range(3):
        first, last = scan_grid.extent[2 * axis], scan_grid.extent[2 * axis + 1]
        if low[axis] <= first + 0.5:
            faces.append(FACE_NAMES[axis][0])
        if high[axis] >= last - 0.5:
            faces.append(FACE_NAMES[axis][1])
    return faces


def _index_range(mask, to_scan, start) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest scan-grid index per axis over the mask's voxels; a transform that only permutes and
    flips axes (the usual case) needs the mask's bounding box only, any other one every voxel."""
    linear = to_scan[:3, :3]
    if np.allclose(np.abs(linear), np.round(np.abs(linear)), atol=1e-6) and np.allclose(
            np.abs(np.round(linear)).sum(0), 1):
        hits = [np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis))) for axis in (2, 1, 0)]
        points = np.array([[h[0] for h in hits], [h[-1] for h in hits]], float)  # x, y, z
    else:
        points = np.argwhere(mask)[:, ::-1].astype(float)
    scan = (points + start) @ linear.T + to_scan[:3, 3]
    return scan.min(0), scan.max(0)


def array_grid(shape_zyx, index_to_world=None, start=(0, 0, 0)) -> ScanGrid:
    """The grid of an array (z, y, x) whose first voxel has index start (i, j, k)."""
    extent = sum(((int(s), int(s) + int(n) - 1) for s, n in zip(start, shape_zyx[::-1])), ())
    return ScanGrid(np.eye(4) if index_to_world is None else np.asarray(index_to_world, float), extent)


def field_of_view(liver: np.ndarray, mask_grid: ScanGrid, scan_grid: ScanGrid | None) -> dict:
    """`complete` and the warnings of the check: True (checked, whole), False (cut) or None (no scanned grid)."""
    if scan_grid is None:
        return {"complete": None, "warnings": [warning(
            FIELD_OF_VIEW_UNCHECKED, "the segmentation does not record the grid of the scan it was made on, so "
            "whether the scan cut the liver could not be checked; make sure the whole liver is in the scan")]}
    faces = cut_faces(liver, mask_grid, scan_grid)
    if not faces:
        return {"complete": True, "warnings": []}
    return {"complete": False, "warnings": [warning(
        LIVER_CUT_BY_SCAN, f"the liver reaches {' and '.join(faces)} of the scanned volume, so the scan cut it: "
        "the liver and FLR volumes are too small and no verdict is given; use a CT that covers the whole liver")]}


def field_of_view_on_own_grid(liver: np.ndarray) -> dict:
    """The check for a mask on the scan's own grid (the engine's label map, a label map file)."""
    grid = array_grid(liver.shape)
    return field_of_view(liver, grid, grid)
