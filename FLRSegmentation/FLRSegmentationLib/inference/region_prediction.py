"""One stage's labels inside a box, equal to nnU-Net's whole-image prediction there, at the cost of the box.

nnU-Net's `predict_single_npy_array` crops the input to its non-zero frame, normalises and resamples the whole
image to the model's spacing, runs every sliding-window tile and resamples the logits of every class back to the
whole image. Inside a box each of those values depends only on the tiles that cover it and on a block of the input,
so we normalise and resample just that block (resample_window), run only the tiles of nnU-Net's own tiling that
touch the box, in nnU-Net's order (the half-precision sums then match), and resample the logits for the box alone,
a few slices at a time. Never is a full-resolution probability map of the whole image held.
"""

from __future__ import annotations

import json
from typing import Callable

import numpy as np
import torch
from nnunetv2.preprocessing.normalization import default_normalization_schemes
from nnunetv2.preprocessing.resampling.default_resampling import compute_new_shape

from .free_memory import release_free_memory
from .label_upsampling import LabelUpsampling, uncertain_bits
from .resample_window import Resampling, UnsupportedResampling
from .stage_io import bounding_box

VOXELWISE_NORMALISATIONS = ("CTNormalization", "NoNormalization", "RGBTo01Normalization")  # no image statistics
DEFAULT_RESAMPLING = "resample_data_or_seg_to_shape"
OUTPUT_SLAB = 16  # output slices resampled at once: bounds the logits held for the box

TileRunner = Callable[[torch.Tensor, list], torch.Tensor]  # (data (c, z, y, x), tile slicers) -> half logits


def nonzero_frame(channels: list[np.ndarray]) -> tuple[slice, ...] | None:
    """nnU-Net's crop_to_nonzero box (the bounding box of voxels non-zero in any channel), None if all are zero."""
    nonzero = channels[0] != 0
    for channel in channels[1:]:
        nonzero |= channel != 0
    return bounding_box(nonzero)


def _intersect(box, frame) -> tuple[slice, ...] | None:
    """box in frame coordinates, clipped to the frame; None when they don't meet."""
    out = []
    for b, f in zip(box, frame):
        start, stop = max(b.start, f.start), min(b.stop, f.stop)
        if start >= stop:
            return None
        out.append(slice(start - f.start, stop - f.start))
    return tuple(out)


def _shift(window, by, sign=1) -> tuple[slice, ...]:
    return tuple(slice(s.start + sign * d, s.stop + sign * d) for s, d in zip(window, by))


def box_key(box: tuple[slice, ...]) -> tuple[tuple[int, int], ...]:
    return tuple((s.start, s.stop) for s in box)


class SharedInputs:
    """Network inputs resampled earlier in this case, for a later stage that needs the same channel the same way:
    the CRLM and FLR stages both resample the liver mask of the same crop to the same grid, and nnU-Net would do it
    twice. A key names the channel and everything its resampled values depend on."""

    def __init__(self):
        self._made: dict[tuple, np.ndarray] = {}

    def get(self, key: tuple | None, make: Callable[[], np.ndarray]) -> np.ndarray:
        if key is None:
            return make()
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]


class RegionPrediction:
    """nnU-Net's preprocessing, tiling and export of one stage, restricted to a box of the input."""

    def __init__(self, predictor):
        plans, config = predictor.plans_manager, predictor.configuration_manager
        settings = config.configuration
        if len(config.patch_size) != 3 or list(plans.transpose_forward) != [0, 1, 2]:
            raise UnsupportedResampling("2D or transposed configuration")
        if any(settings.get(k) != DEFAULT_RESAMPLING for k in ("resampling_fn_data", "resampling_fn_probabilities")):
            raise UnsupportedResampling("custom resampling function")
        if any(config.use_mask_for_norm):
            raise UnsupportedResampling("normalisation inside the non-zero mask")
        self.predictor = predictor
        self.config = config
        self.intensities = plans.foreground_intensity_properties_per_channel
        self.normalisers = [getattr(default_normalization_schemes, name) for name in config.normalization_schemes]

    def predict(self, channels: list[np.ndarray], spacing, box: tuple[slice, ...], run_tiles: TileRunner,
                shared: SharedInputs | None = None, channel_keys: list[tuple] | None = None,
                uncertain: np.ndarray | None = None) -> np.ndarray:
        """Labels (uint8) of the box; channels are the stage's inputs on the whole image grid, in channel order.
        channel_keys (hashable, one per channel, naming its content) let `shared` reuse a resampled channel.
        uncertain, an array of the box's shape, receives label_upsampling.uncertain_bits."""
        labels = np.zeros(tuple(s.stop - s.start for s in box), np.uint8)
        frame = nonzero_frame(channels)
        inner = None if frame is None else _intersect(box, frame)
        if inner is None:
            return labels
        in_shape = tuple(f.stop - f.start for f in frame)
        net_shape = tuple(int(n) for n in compute_new_shape(in_shape, spacing, self.config.spacing))
        settings = self.config.configuration
        down = Resampling.from_plans(in_shape, spacing, net_shape, self.config.spacing,
                                     settings["resampling_fn_data_kwargs"])
        up = Resampling.from_plans(net_shape, self.config.spacing, in_shape, spacing,
                                   settings["resampling_fn_probabilities_kwargs"])
        needed = up.support(inner)  # network voxels the box's labels are interpolated from
        tiles, region, pad = self._tiles(net_shape, needed)
        data = self._input(channels, frame, down, region, pad, shared or SharedInputs(), channel_keys)
        release_free_memory()  # the resampling pieces, before the network's activations come on top
        logits = run_tiles(torch.from_numpy(data), [(slice(None), *_shift(t[1:], [r.start for r in region], -1)) for t in tiles])
        logits = logits[(slice(None), *_shift(_shift(needed, pad), [r.start for r in region], -1))]
        values, unsure = self._labels(logits, up, needed, inner, uncertain is not None)
        labels[_shift(inner, [f.start - b.start for f, b in zip(frame, box)])] = values
        if uncertain is not None:
            uncertain[_shift(inner, [f.start - b.start for f, b in zip(frame, box)])] = unsure
        return labels

    def _tiles(self, net_shape, needed):
        """nnU-Net's tiles of the padded image that touch `needed`, in its order, their bounding region, the padding."""
        patch = [int(p) for p in self.config.patch_size]
        padded = [max(n, p) for n, p in zip(net_shape, patch)]
        pad = [(p - n) // 2 for p, n in zip(padded, net_shape)]  # pad_nd_image centres the image
        want = _shift(needed, pad)
        tiles = [t for t in self.predictor._internal_get_sliding_window_slicers(tuple(padded))
                 if all(s.start < w.stop and s.stop > w.start for s, w in zip(t[1:], want))]
        region = tuple(slice(min(t[a + 1].start for t in tiles), max(t[a + 1].stop for t in tiles)) for a in range(3))
        return tiles, region, pad

    def _input(self, channels, frame, down: Resampling, region, pad, shared: SharedInputs, channel_keys) -> np.ndarray:
        """The preprocessed input over the tiles' region (padding stays 0, as nnU-Net pads)."""
        data = np.zeros((len(channels), *(r.stop - r.start for r in region)), np.float32)
        image_part = tuple(slice(max(0, r.start - p), min(n, r.stop - p))
                           for r, p, n in zip(region, pad, down.out_shape))
        if any(s.start >= s.stop for s in image_part):
            return data
        target = (slice(None), *_shift(image_part, [r.start - p for r, p in zip(region, pad)], -1))
        for c, channel in enumerate(channels):
            key = None if channel_keys is None else (
                channel_keys[c], box_key(frame), down, box_key(image_part), self.config.normalization_schemes[c],
                json.dumps(self.intensities.get(str(c)), sort_keys=True))
            data[(c, *target[1:])] = shared.get(key, lambda: self._channel(c, channel[frame], down, image_part))
        return data

    def _channel(self, c: int, channel: np.ndarray, down: Resampling, window) -> np.ndarray:
        normaliser = self.normalisers[c](use_mask_for_norm=False, intensityproperties=self.intensities[str(c)])
        block = down.support(window)
        if self.config.normalization_schemes[c] in VOXELWISE_NORMALISATIONS:  # normalise only the slices used
            normalise = lambda values: normaliser.run(values.astype(np.float32))  # noqa: E731
            values, value_range = channel[block], self._value_range(channel, down, normalise)
        else:  # statistics of the whole image: normalise it all, then take the block
            whole = normaliser.run(channel.astype(np.float32))
            normalise, values, value_range = None, whole[block], self._value_range(whole, down, lambda v: v)
        return down.window(values, [b.start for b in block], window, value_range, normalise,
                           device=self.predictor.device)

    @staticmethod
    def _value_range(channel, down: Resampling, normalise):
        """The input range skimage clips a spline to: per slice along the separate axis, or of the whole image.
        Normalisation is monotonic, so the normalised range is the normalised raw range."""
        if down.identity or down.order <= 1:
            return None
        axes = None if down.separate_axis is None else tuple(a for a in range(3) if a != down.separate_axis)
        return normalise(np.asarray(channel.min(axis=axes))), normalise(np.asarray(channel.max(axis=axes)))

    def _labels(self, logits: torch.Tensor, up: Resampling, needed, inner,
                with_uncertainty: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Logits of the `needed` network block -> labels of `inner`, as nnU-Net's export: float16 values per
        class, then its label manager (argmax, or sigmoid regions). An argmax reads the float16 values as float32
        (exact, and much faster). Linear interpolation (nnU-Net's default) is done near label boundaries only
        (label_upsampling). Also the uncertain voxels' bits (label_upsampling.uncertain_bits)."""
        manager = self.predictor.label_manager
        dtype = np.float16 if manager.has_regions else np.float32
        block = logits.numpy()
        start = [n.start for n in needed]
        near_boundaries = None if up.identity or up.order != 1 else LabelUpsampling(block, up, start, manager,
                                                                                    with_uncertainty)
        out = np.zeros(tuple(s.stop - s.start for s in inner), np.uint8)
        uncertain = np.zeros_like(out)
        for z in range(inner[0].start, inner[0].stop, OUTPUT_SLAB):
            slab = (slice(z, min(z + OUTPUT_SLAB, inner[0].stop)), *inner[1:])
            rows = slice(z - inner[0].start, min(z + OUTPUT_SLAB, inner[0].stop) - inner[0].start)
            if near_boundaries is not None:
                out[rows], uncertain[rows] = near_boundaries.labels_and_uncertainty(slab)
                continue
            if up.identity:
                exact = block[(slice(None), *_shift(slab, start, -1))]
            else:
                exact = np.stack([up.window(b, start, slab, device=self.predictor.device) for b in block])
            values = exact.astype(np.float16).astype(dtype)
            out[rows] = manager.convert_logits_to_segmentation(values)
            if with_uncertainty:
                uncertain[rows] = uncertain_bits(exact.reshape(len(exact), -1), manager.has_regions).reshape(
                    exact.shape[1:])
        return out, uncertain
