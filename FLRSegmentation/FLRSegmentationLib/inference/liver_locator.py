"""Find the liver cheaply, before any full-resolution work: where the full-resolution liver stage has to run.

The CT is binned (block means) by whole factors that keep it at most as coarse as the locating model's own spacing,
so the network sees what it would see anyway while the resampling works on a fraction of the voxels; the model
runs in its fast configuration (one fold, no mirroring, no tile overlap) and its mask is never resampled to full
resolution. The locating model is the package's liver stage, or another package's (a low-resolution liver model
can locate for a high-resolution package). Locating pays only when the stage's own tiling of the whole image is
large: with a coarse model whose tile covers the abdomen it would double the work, so it is skipped then.
The liver stage then sees the located box, grown to at least one tile so that nnU-Net never pads the crop with
zeros where the image has anatomy; it differs from the whole-image prediction only through context beyond the
margin.
"""

from __future__ import annotations

import math

import numpy as np
from nnunetv2.inference.sliding_window_prediction import compute_steps_for_sliding_window
from nnunetv2.preprocessing.resampling.default_resampling import compute_new_shape

from .postprocess import largest_component
from .stage_io import crop_box
from .stage_predictor import StagePredictor


def bin_factors(spacing_zyx, model_spacing_zyx) -> tuple[int, ...]:
    """Whole factors per axis that keep the binned spacing at most the model's."""
    return tuple(max(1, math.floor(m / s + 1e-6)) for s, m in zip(spacing_zyx, model_spacing_zyx))


def bin_mean(image: np.ndarray, factors) -> np.ndarray:
    """Block means of factors[a] voxels along each axis (float32); the last block of an axis may be shorter. The sums
    read the image in its own type, so an integer CT is never copied whole to float32."""
    out = image
    for axis, f in enumerate(factors):
        if f == 1:
            continue
        starts = np.arange(0, out.shape[axis], f)
        counts = np.diff(np.append(starts, out.shape[axis])).astype(np.float32)
        shape = [1] * out.ndim
        shape[axis] = len(starts)
        out = np.add.reduceat(out, starts, axis=axis, dtype=np.float32) / counts.reshape(shape)
    return out.astype(np.float32, copy=False)


def tile_count(stage: StagePredictor, shape, spacing_zyx, step: float) -> int:
    """How many sliding-window tiles the stage runs on a whole image of this shape."""
    patch = [int(p) for p in stage.predictor.configuration_manager.patch_size]
    net = [max(int(n), p) for n, p in zip(compute_new_shape(shape, spacing_zyx, stage.spacing), patch)]
    return int(np.prod([len(s) for s in compute_steps_for_sliding_window(net, patch, step)]))


def worth_locating(locator: StagePredictor, stage: StagePredictor, shape, spacing_zyx) -> bool:
    """Whether the whole-image pass has over twice the tiles of the locating pass (which then saves work)."""
    full = tile_count(stage, shape, spacing_zyx, stage.predictor.tile_step_size)
    return full > 2 * tile_count(locator, shape, spacing_zyx, 1.0)


def grow_to_tile(box: tuple[slice, ...], stage: StagePredictor, spacing_zyx, shape) -> tuple[slice, ...]:
    """box grown about its centre, within the image, to at least the stage's tile (patch size x model spacing)."""
    patch = stage.predictor.configuration_manager.patch_size
    grown = []
    for b, n, p, m, s in zip(box, shape, patch, stage.spacing, spacing_zyx):
        size = min(n, max(b.stop - b.start, math.ceil(p * m / s) + 1))
        start = min(max(0, (b.start + b.stop - size) // 2), n - size)
        grown.append(slice(start, start + size))
    return tuple(grown)


def locate_liver(locator: StagePredictor, image: np.ndarray, spacing_zyx, margin_mm: float):
    """The liver's box grown by margin_mm in image indices, from the binned CT; None when no liver is seen."""
    factors = bin_factors(spacing_zyx, locator.spacing)
    binned = bin_mean(image, factors)
    binned_spacing = tuple(s * f for s, f in zip(spacing_zyx, factors))
    with locator.quick():
        liver = locator.predict(binned[None], binned_spacing) > 0
    box = crop_box(largest_component(liver), binned_spacing, margin_mm)
    if box is None:
        return None
    return tuple(slice(b.start * f, min(n, b.stop * f)) for b, f, n in zip(box, factors, image.shape))
