"""nnU-Net's default resampling, computed for a window of the output only.

nnU-Net (`resample_data_or_seg_to_shape`) resamples whole images: a spline over the in-plane axes of every slice
(skimage `resize`: scipy zoom on the pixel-centre grid, edge mode, output clipped to the slice's value range), then
nearest neighbour along the thick-slice axis; or one 3D spline when no axis is separate. Running the stages only
around the liver needs those same values for a window, computed from a block of the input with a halo: the spline
prefilter is the only non-local step, and its influence decays as 0.27^n voxels, so the halo makes a block's values
nnU-Net's whole-image values (tests compare the two), at the cost of the window instead of the whole image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from nnunetv2.configuration import ANISO_THRESHOLD
from nnunetv2.preprocessing.resampling.default_resampling import determine_do_sep_z_and_axis
from scipy import ndimage

SPLINE_HALO = 16  # input voxels kept beyond a spline's support, so the prefilter sees what it sees on the image
SPLINE_CHUNK = 128  # input voxels along z and y per piece of a 3D spline: its prefilter copies cost the piece


class UnsupportedResampling(ValueError):
    """A resampling setting this module does not reproduce; the caller uses nnU-Net on the whole image."""


@dataclass(frozen=True)
class Resampling:
    """How nnU-Net maps one grid of an image onto another (the plans' resampling kwargs, resolved)."""

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    order: int
    separate_axis: int | None  # resampled by nearest neighbour; the other axes by the spline

    @classmethod
    def from_plans(cls, in_shape, in_spacing, out_shape, out_spacing, kwargs: dict) -> "Resampling":
        if kwargs.get("is_seg", False):
            raise UnsupportedResampling("segmentation resampling")
        separate, axis = determine_do_sep_z_and_axis(kwargs.get("force_separate_z", False), in_spacing, out_spacing,
                                                     kwargs.get("separate_z_anisotropy_threshold", ANISO_THRESHOLD))
        if separate and kwargs.get("order_z", 0) != 0:
            raise UnsupportedResampling("interpolation along the separate axis")
        return cls(tuple(int(s) for s in in_shape), tuple(int(s) for s in out_shape), int(kwargs.get("order", 3)),
                   int(axis) if separate else None)

    @property
    def identity(self) -> bool:
        return self.in_shape == self.out_shape  # nnU-Net returns the data untouched then

    def _scale(self, axis: int) -> float:
        return float(self.in_shape[axis]) / self.out_shape[axis]

    def _source(self, axis: int, out: slice) -> np.ndarray:
        """Input coordinates of the output voxel centres out (pixel-centre grid, as scipy's grid_mode zoom)."""
        return self._scale(axis) * (np.arange(out.start, out.stop) + 0.5) - 0.5

    def nearest(self, axis: int, out: slice) -> np.ndarray:
        """Input indices nnU-Net's order-0 map_coordinates picks along the separate axis (same routine, same
        rounding)."""
        if self.in_shape[axis] == self.out_shape[axis]:
            return np.arange(out.start, out.stop)
        index = ndimage.map_coordinates(np.arange(self.in_shape[axis], dtype=float), [self._source(axis, out)],
                                        order=0, mode="nearest")
        return index.astype(np.int64)

    def source(self, axis: int, out: slice) -> np.ndarray:
        """Input coordinates (float) each output voxel along axis is interpolated at: the nearest neighbour's index
        along the separate axis, the pixel-centre position along the others."""
        if axis == self.separate_axis:
            return self.nearest(axis, out).astype(np.float64)
        if self.in_shape[axis] == self.out_shape[axis]:
            return np.arange(out.start, out.stop, dtype=np.float64)
        return self._source(axis, out)

    def support(self, out_window: tuple[slice, ...]) -> tuple[slice, ...]:
        """The input block that determines out_window exactly (spline support plus the prefilter halo)."""
        if self.identity:
            return out_window
        block = []
        for axis, out in enumerate(out_window):
            if axis == self.separate_axis:
                index = self.nearest(axis, out)
                block.append(slice(int(index.min()), int(index.max()) + 1))
                continue
            source = self._source(axis, out)
            reach = self.order + (SPLINE_HALO if self.order > 1 else 0)
            block.append(slice(max(0, math.floor(source[0]) - reach),
                               min(self.in_shape[axis], math.floor(source[-1]) + reach + 2)))
        return tuple(block)

    def window(self, block: np.ndarray, block_start, out_window: tuple[slice, ...], value_range=None,
               transform=None) -> np.ndarray:
        """Output values in out_window (float64), from block = image[support(out_window)] with block_start its corner.

        value_range: (low, high) of the input, per slice along the separate axis or for the whole image, for the
        clipping skimage applies after a spline of order > 1 (None for order <= 1, where it changes nothing).
        transform: a voxel-wise function (normalisation) applied to the input first, only to the slices used.
        """
        transform = transform or (lambda values: values)
        if self.identity:
            return transform(block)
        spline_axes = [a for a in range(block.ndim) if a != self.separate_axis]
        if self.separate_axis is None:
            return self._spline_in_pieces(block, block_start, out_window, transform, value_range)
        axis = self.separate_axis
        picks, which = np.unique(self.nearest(axis, out_window[axis]), return_inverse=True)
        planes = []
        for pick in picks:  # each input slice once, however many output slices repeat it
            plane = transform(np.take(block, pick - block_start[axis], axis=axis))
            low_high = None if value_range is None else (value_range[0][pick], value_range[1][pick])
            planes.append(self._spline(plane, block_start, out_window, spline_axes, low_high))
        return np.stack(planes, axis=axis).take(which, axis=axis)

    def _spline_in_pieces(self, block, block_start, out_window, transform, value_range) -> np.ndarray:
        """One 3D spline, computed piece by piece of the output (each from its own support, halo included), so
        that the prefilter's float64 copies never hold the whole block; order <= 1 has no prefilter: one piece."""
        axes = list(range(block.ndim))
        steps = [max(1, int(SPLINE_CHUNK / self._scale(a))) if self.order > 1 and a < 2 else n
                 for a, n in enumerate(self.out_shape)]
        out = np.empty(tuple(w.stop - w.start for w in out_window), np.float64)
        for corner in np.ndindex(*(math.ceil((w.stop - w.start) / s) for w, s in zip(out_window, steps))):
            piece = tuple(slice(w.start + c * s, min(w.stop, w.start + (c + 1) * s))
                          for w, c, s in zip(out_window, corner, steps))
            support = self.support(piece)
            values = transform(block[tuple(slice(s.start - b, s.stop - b) for s, b in zip(support, block_start))])
            out[tuple(slice(p.start - w.start, p.stop - w.start) for p, w in zip(piece, out_window))] = self._spline(
                values, [s.start for s in support], piece, axes, value_range)
        return out

    def _spline(self, block, block_start, out_window, axes, value_range) -> np.ndarray:
        scale = np.array([self._scale(a) for a in axes])
        offset = np.array([self._scale(a) * (out_window[a].start + 0.5) - 0.5 - block_start[a] for a in axes])
        shape = tuple(out_window[a].stop - out_window[a].start for a in axes)
        # float32 in, float64 out: scipy reads every input value as a double and prefilters into float64 itself, so
        # no float64 copy of the input is needed for the same numbers
        if block.dtype not in (np.float32, np.float64):
            block = block.astype(np.float32)  # half-precision logits, masks: types scipy does not read
        out = ndimage.affine_transform(block, scale, offset, output_shape=shape, output=np.float64, order=self.order,
                                       mode="nearest", prefilter=self.order > 1)
        if value_range is not None and self.order > 1:
            np.clip(out, value_range[0], value_range[1], out=out)
        return out
