"""The liver's bounding box on the segmentation's own grid, where every resection computation happens.

A voxel's centre in LPS millimetres is origin + A @ (i, j, k), with A = direction x spacing (columns: one index step
along i, j, k), so oblique and anisotropic grids need nothing special. The box is padded with empty voxels to whole
blocks of `multiple` voxels per axis (the coarse cells of the curved-surface side test); arrays are (k, j, i) like
SimpleITK's, and padding lies outside the liver, so it never counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..imaging.image_grid import ImageGrid


@dataclass(frozen=True)
class VoxelBox:
    start: tuple[int, int, int]  # (k, j, i) of the box's first voxel in the full array
    shape: tuple[int, int, int]  # padded (k, j, i) shape
    full_shape: tuple[int, int, int]
    origin: np.ndarray  # LPS centre of box voxel (0, 0, 0)
    axes: np.ndarray  # 3 x 3, column c: LPS mm per index step along i, j, k
    spacing: tuple[float, float, float]  # x, y, z

    @classmethod
    def around(cls, liver: np.ndarray, grid: ImageGrid, multiple=(1, 1, 1)) -> "VoxelBox":
        """The box of the liver's voxels, its (k, j, i) shape padded up to a multiple of `multiple`."""
        if liver.shape != grid.shape:
            raise ValueError(f"liver mask {liver.shape} does not fit the grid {grid.shape}")
        hits = [np.flatnonzero(liver.any(axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)]
        if any(h.size == 0 for h in hits):
            raise InputError("the Liver segment is empty: there is nothing to resect")
        start = tuple(int(h[0]) for h in hits)
        size = np.array([h[-1] - h[0] + 1 for h in hits])
        shape = tuple(int(s) for s in -(-size // np.asarray(multiple)) * np.asarray(multiple))
        axes = np.reshape(grid.direction, (3, 3)) * np.asarray(grid.spacing)
        origin = np.asarray(grid.origin, float) + axes @ np.array(start[::-1], float)
        return cls(start, shape, grid.shape, origin, axes, grid.spacing)

    def crop(self, full: np.ndarray) -> np.ndarray:
        """The box's part of a full-grid mask, padded with False."""
        box = np.zeros(self.shape, bool)
        box[self._inside()] = full[self.window()]
        return box

    def paste(self, box: np.ndarray) -> np.ndarray:
        """A full-grid mask, False outside the box."""
        full = np.zeros(self.full_shape, bool)
        full[self.window()] = self.trim(box)
        return full

    def trim(self, box: np.ndarray) -> np.ndarray:
        """A box array without its padding: the part of the full grid at window()."""
        return box[self._inside()]

    def window(self) -> tuple[slice, ...]:
        """Where the box lies in the full (k, j, i) array, padding cut at the grid's end."""
        return tuple(slice(s, min(s + n, f)) for s, n, f in zip(self.start, self.shape, self.full_shape))

    def _inside(self) -> tuple[slice, ...]:
        return tuple(slice(0, w.stop - w.start) for w in self.window())

    def points(self, k, j, i) -> np.ndarray:
        """LPS centres of the box voxels (k, j, i) (index arrays, fractional allowed): shape (n, 3)."""
        index = np.stack([np.ravel(i), np.ravel(j), np.ravel(k)], axis=1).astype(float)
        return self.origin + index @ self.axes.T

    def flat_points(self, flat: np.ndarray) -> np.ndarray:
        return self.points(*np.unravel_index(flat, self.shape))

    def linear_field(self, direction, point) -> np.ndarray:
        """direction . (x - point) at every box voxel centre, shape `shape` (float64): a sum of three 1D ramps."""
        direction = np.asarray(direction, float)
        steps = direction @ self.axes  # per index step along i, j, k
        base = float(direction @ (self.origin - np.asarray(point, float)))
        ramps = [steps[c] * np.arange(n, dtype=float) for c, n in zip((2, 1, 0), self.shape)]
        return base + ramps[0][:, None, None] + ramps[1][None, :, None] + ramps[2][None, None, :]
