"""Put an array given on one voxel grid onto another grid whose voxel centres it shares, exactly, without resampling.

DICOM-SEG frames and label files often describe the CT's own voxels in another index order: rows or columns
flipped, slices reversed, axes swapped, or only some slices. When every source voxel centre lies on a target voxel
centre, the mapping is a permutation, flips and an integer offset, so the source is placed voxel for voxel;
anything else (another spacing, a tilt, a position between voxels) is refused rather than interpolated.
Arrays are numpy in SimpleITK order (z, y, x); geometry is given in ITK terms (x, y, z; direction columns).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .image_grid import ImageGrid

# How far (in target voxels) a source voxel centre may lie from a target voxel centre, over the whole source extent:
# DICOM writers round positions and spacings to a few digits.
TOLERANCE_VOXELS = 0.1


class OffGridError(ValueError):
    """The source voxels are not the target's: another spacing or orientation, or between voxel centres."""


@dataclass(frozen=True)
class Placement:
    """Where a source array lands in the target array: the target region and how to reorder the source to fit."""

    region: tuple[slice, slice, slice]  # in the target's numpy (z, y, x) order
    axes: tuple[int, int, int]  # target numpy axis n takes source numpy axis axes[n]
    flips: tuple[bool, bool, bool]  # flip target numpy axis n after transposing

    def aligned(self, source: np.ndarray) -> np.ndarray:
        """The source array in the target's index order, the shape of `region`."""
        out = np.transpose(source, self.axes)
        return np.flip(out, [n for n in range(3) if self.flips[n]])


def place(source: ImageGrid, target: ImageGrid, tolerance: float = TOLERANCE_VOXELS) -> Placement:
    """The exact placement of `source` voxels on `target` voxels; OffGridError (one line) when there is none."""
    to_index = np.linalg.inv(np.reshape(target.direction, (3, 3)) @ np.diag(target.spacing))
    start = to_index @ (np.asarray(source.origin, float) - np.asarray(target.origin, float))
    steps = to_index @ np.reshape(source.direction, (3, 3)) @ np.diag(source.spacing)  # column a: one step along a
    target_axis = {}
    for a in (a for a in range(3) if source.size[a] > 1):
        column = steps[:, a]
        k = int(np.abs(column).argmax())
        unit = np.zeros(3)
        unit[k] = np.sign(column[k])
        if np.abs(column - unit).max() * (source.size[a] - 1) > tolerance:
            raise OffGridError(f"its voxel spacing or orientation differ from the CT's (one step along its axis "
                               f"{a} moves {np.round(column, 3).tolist()} CT voxels)")
        if k in (axis for axis, _ in target_axis.values()):
            raise OffGridError("two of its axes run along the same CT axis")
        target_axis[a] = (k, int(unit[k]))
    free = iter([k for k in range(3) if k not in {axis for axis, _ in target_axis.values()}])
    for a in (a for a in range(3) if a not in target_axis):
        target_axis[a] = (next(free), 1)  # a single-voxel axis: any remaining target axis, no flip
    rounded = np.rint(start)
    if np.abs(start - rounded).max() > tolerance:
        raise OffGridError(f"its first voxel lies between CT voxel centres (at CT index {np.round(start, 3).tolist()})")
    region, axes, flips = [None] * 3, [0] * 3, [False] * 3
    for a, (k, sign) in target_axis.items():
        first = int(rounded[k])
        last = first + sign * (source.size[a] - 1)
        low, high = min(first, last), max(first, last)
        if low < 0 or high >= target.size[k]:
            raise OffGridError(f"it reaches outside the CT (CT index {low} to {high} along axis {k}, "
                               f"the CT has {target.size[k]})")
        n = 2 - k  # numpy axis of target index axis k
        region[n], axes[n], flips[n] = slice(low, high + 1), 2 - a, sign < 0
    return Placement(tuple(region), tuple(axes), tuple(flips))
