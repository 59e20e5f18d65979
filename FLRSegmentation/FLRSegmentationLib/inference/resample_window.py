"""nnU-Net's default resampling, computed for a window of the output only.

nnU-Net (`resample_data_or_seg_to_shape`) resamples whole images: a spline over the in-plane axes of every slice
(skimage `resize`: scipy zoom on the pixel-centre grid, edge mode, output clipped to the slice's value range), then
nearest neighbour along the thick-slice axis; or one 3D spline when no axis is separate. Running the stages only
around the liver needs those same values for a window, computed from a block of the input with a halo: the spline
prefilter is the only non-local step, and its influence decays as 0.27^n voxels, so the halo makes a block's values
nnU-Net's whole-image values (tests compare the two), at the cost of the window instead of the whole image.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
from nnunetv2.configuration import ANISO_THRESHOLD
from nnunetv2.preprocessing.resampling.default_resampling import determine_do_sep_z_and_axis
from scipy import ndimage

SPLINE_HALO = 16  # input voxels kept beyond a spline's support, so the prefilter sees what it sees on the image
SLAB = 8  # input slices along axis 0 normalised and reduced in-plane at once: the only full-resolution copy held
BAND_ROWS = 32  # output rows per band of a separable pass
WEIGHT_FLOOR = 1e-9  # spline weights below this are dropped (the prefilter's tail, as beyond the halo)


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
               transform=None, device: torch.device | str = "cpu") -> np.ndarray:
        """Output values in out_window (float32), from block = image[support(out_window)] with block_start its corner.

        value_range: (low, high) of the input, per slice along the separate axis or for the whole image, for the
        clipping skimage applies after a spline of order > 1 (None for order <= 1, where it changes nothing).
        transform: a voxel-wise function (normalisation) applied to the input first, only to the slices used, a slab
        at a time, so no full-resolution float32 copy of the block is ever held.
        device: where the separable passes run (torch; on CUDA the GPU does them).
        """
        transform = transform or (lambda values: values)
        if self.identity:
            return transform(block)
        operators = [self._operator(a, block_start[a], block.shape[a], out_window[a]) for a in range(block.ndim)]
        first = operators[0]
        if isinstance(first, tuple):  # nearest neighbour along axis 0: only the slices picked are read
            picks, which = first
            planes = [self._in_plane(transform(block[p:p + 1]), operators, device) for p in picks]
            out = torch.cat(planes).index_select(0, torch.as_tensor(which, device=device))
        else:  # the in-plane passes slab by slab, then the pass along axis 0 on the reduced block
            reduced = torch.cat([self._in_plane(transform(block[z:z + SLAB]), operators, device)
                                 for z in range(0, block.shape[0], SLAB)])
            out = _along(reduced, first.to(device), 0)
        if value_range is not None and self.order > 1:
            low, high = (torch.as_tensor(np.asarray(v, np.float32), device=device) for v in value_range)
            if self.separate_axis is not None:  # per input slice: the output slices take their pick's range
                picks = torch.as_tensor(self.nearest(self.separate_axis, out_window[self.separate_axis]),
                                        device=device)
                shape = [1] * out.ndim
                shape[self.separate_axis] = -1
                low, high = low[picks].reshape(shape), high[picks].reshape(shape)
            out = torch.maximum(torch.minimum(out, high), low)
        return out.cpu().numpy()

    def _operator(self, axis: int, start: int, length: int, out: slice):
        """Along axis: (unique input indices into the block, inverse) for the nearest neighbour, or the
        (output x block) weight matrix of the spline."""
        if axis == self.separate_axis or self.in_shape[axis] == self.out_shape[axis]:
            picks, which = np.unique(self.nearest(axis, out) - start, return_inverse=True)
            if axis != 0:  # in-plane: a gather that keeps every picked index once per output voxel
                return torch.as_tensor(picks[which])
            return picks, which
        weights = spline_weights(self.in_shape[axis], self._scale(axis), out.start, out.stop, self.order)
        return torch.from_numpy(np.ascontiguousarray(weights[:, start:start + length], np.float32))

    @staticmethod
    def _in_plane(slab: np.ndarray, operators, device) -> torch.Tensor:
        """A slab (a few slices along axis 0) through the passes along axes 2 then 1, each reducing it."""
        values = torch.from_numpy(np.ascontiguousarray(slab, np.float32)).to(device)
        for axis in (2, 1):
            operator = operators[axis].to(device)
            values = values.index_select(axis, operator) if operator.dtype == torch.int64 else _along(
                values, operator, axis)
        return values


@functools.lru_cache(maxsize=32)
def spline_weights(n_in: int, scale: float, start: int, stop: int, order: int) -> np.ndarray:
    """Row i: the weight of every input sample in output voxel start + i along an axis of n_in samples, as nnU-Net's
    spline (skimage resize: scipy zoom, pixel-centre grid, edge mode, prefilter over the whole axis) gives it.
    nnU-Net's 2D/3D spline is a tensor product, prefilter included, so one such matrix per axis reproduces it; the
    matrix is scipy's own resampling of the identity, so its boundary handling is scipy's by construction. Weights
    below 1e-9 (the prefilter's tail beyond the halo) are dropped, so each output reads a band of inputs."""
    identity = np.eye(n_in)
    weights = ndimage.affine_transform(identity, [scale, 1.0], [scale * (start + 0.5) - 0.5, 0.0],
                                       output_shape=(stop - start, n_in), output=np.float64, order=order,
                                       mode="nearest", prefilter=order > 1)
    weights[np.abs(weights) < WEIGHT_FLOOR] = 0.0
    return weights


def _along(values: torch.Tensor, weights: torch.Tensor, axis: int) -> torch.Tensor:
    """weights (out x in) applied along axis of values, a band of BAND_ROWS output rows at a time: each band reads
    only the inputs its weights reach (a few times the band for a downsampling, not the whole axis)."""
    moved = values.movedim(axis, -1)
    out = moved.new_empty((*moved.shape[:-1], weights.shape[0]))
    nonzero = weights != 0
    for row in range(0, weights.shape[0], BAND_ROWS):
        band = weights[row:row + BAND_ROWS]
        used = torch.nonzero(nonzero[row:row + BAND_ROWS].any(0)).flatten()
        first, last = (int(used[0]), int(used[-1]) + 1) if used.numel() else (0, 1)
        out[..., row:row + band.shape[0]] = moved[..., first:last] @ band[:, first:last].T
    return out.movedim(-1, axis)
