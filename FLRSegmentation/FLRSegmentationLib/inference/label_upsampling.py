"""Full-resolution labels from a network's low-resolution logits, interpolating only where the label can change.

nnU-Net brings every class's logits to the image grid by linear interpolation (order 1; nearest neighbour along a
thick-slice axis), rounds them to float16 and takes the argmax (or, for regions, sigmoid > 0.5 each). A linear
interpolation is a convex combination of the network voxels around it, so where those voxels all give the same
label, each with a margin that float16 rounding can't eat, every image voxel between them gets that label too.
Only the image voxels near a boundary are interpolated, with the same formula: a few percent of the image instead of
every voxel for every class.

The same argument gives the voxels whose winning probability is below UNCERTAIN_BELOW (the volumetry's uncertain
voxels, docs/CLINICAL.md section 9) without a probability map: a network voxel is confident when the winner's
logit leads every other class by ln((K - 1) p / (1 - p)) (softmax of K classes), or a region's logit is at least
ln(p / (1 - p)) away from 0 (sigmoid); a lead that holds at every corner of a cell holds in between, so only the
cells with a corner below it are interpolated and their probability computed exactly.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..volumetry.uncertainty import UNCERTAIN_BELOW  # winning probability under which a voxel is uncertain
from .resample_window import Resampling

# float16 keeps 11 bits: a value moves by at most 2^-11 of itself, so a lead of 2^-8 of the largest magnitude
# survives rounding both values. sigmoid in float16 reads logits within about 1e-3 of 0 as exactly 0.5.
RELATIVE_MARGIN = 2.0 ** -8
ABSOLUTE_MARGIN = 1e-2
UNDECIDED = -1


def decided_labels(logits: np.ndarray, has_regions: bool) -> np.ndarray:
    """Per network voxel, the label nnU-Net's conversion gives to any value near it (region bits for region
    models), or UNDECIDED where the logits are too close to call."""
    values = logits.astype(np.float32)
    if has_regions:
        labels = np.zeros(values.shape[1:], np.int16)
        undecided = np.zeros(values.shape[1:], bool)
        for i, region in enumerate(values):
            undecided |= np.abs(region) <= ABSOLUTE_MARGIN + RELATIVE_MARGIN * np.abs(region)
            labels |= (region > 0).astype(np.int16) << i
    else:
        ordered = np.sort(values, axis=0)
        labels = values.argmax(0).astype(np.int16)
        undecided = ordered[-1] - ordered[-2] <= RELATIVE_MARGIN * np.abs(values).max(0) + 1e-6
    labels[undecided] = UNDECIDED
    return labels


def confident_labels(logits: np.ndarray, has_regions: bool, level: float = UNCERTAIN_BELOW) -> np.ndarray:
    """Per network voxel its label where every structure's winning probability is at least `level` there, else
    UNDECIDED."""
    values = logits.astype(np.float32)
    odds = np.log(level / (1.0 - level))
    if has_regions:
        labels = np.zeros(values.shape[1:], np.int16)
        unsure = np.zeros(values.shape[1:], bool)
        for i, region in enumerate(values):
            unsure |= np.abs(region) < odds
            labels |= (region > 0).astype(np.int16) << i
    else:
        ordered = np.sort(values, axis=0)
        labels = values.argmax(0).astype(np.int16)
        unsure = ordered[-1] - ordered[-2] < odds + np.log(values.shape[0] - 1)
    labels[unsure] = UNDECIDED
    return labels


def uncertain_bits(values: np.ndarray, has_regions: bool, level: float = UNCERTAIN_BELOW) -> np.ndarray:
    """Logits (classes, n) -> per voxel a bit set: bit i for region i whose winning probability is below level
    (sigmoid), or bit 0 when the argmax's softmax probability is (one structure per stage)."""
    values = values.astype(np.float64)
    if has_regions:
        probability = 1.0 / (1.0 + np.exp(-values))
        unsure = np.maximum(probability, 1.0 - probability) < level
        return (unsure.astype(np.uint8) << np.arange(len(values), dtype=np.uint8)[:, None]).sum(0).astype(np.uint8)
    shifted = np.exp(values - values.max(0))
    return (shifted.max(0) / shifted.sum(0) < level).astype(np.uint8)


def _cells(labels: np.ndarray, up: Resampling) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest label of each voxel and its upper neighbour along every interpolated axis: an image voxel
    whose lower neighbours are a cell with lowest == highest >= 0 takes that label."""
    low, high = labels, labels
    for axis in range(labels.ndim):
        if axis == up.separate_axis or labels.shape[axis] == 1:
            continue
        upper = np.concatenate([np.arange(1, labels.shape[axis]), [labels.shape[axis] - 1]])
        low = np.minimum(low, np.take(low, upper, axis=axis))
        high = np.maximum(high, np.take(high, upper, axis=axis))
    return low, high


class LabelUpsampling:
    """nnU-Net's labels on the image grid for windows of it, from the logits of a network block starting at start."""

    def __init__(self, logits: np.ndarray, up: Resampling, start, label_manager, with_uncertainty: bool = True):
        self.logits = logits.astype(np.float64)
        self.up = up
        self.start = start
        self.manager = label_manager
        self.low, self.high = _cells(decided_labels(logits, label_manager.has_regions), up)
        self.sure_low, self.sure_high = (_cells(confident_labels(logits, label_manager.has_regions), up)
                                         if with_uncertainty else (self.low, self.high))

    def labels(self, window: tuple[slice, ...]) -> np.ndarray:
        return self.labels_and_uncertainty(window)[0]

    def labels_and_uncertainty(self, window: tuple[slice, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The window's labels and its uncertain_bits (0 where every structure is at least UNCERTAIN_BELOW sure;
        without with_uncertainty only near the boundaries, where the labels need the interpolation anyway)."""
        coordinates = [self.up.source(a, w) - s for a, (w, s) in enumerate(zip(window, self.start))]
        lower = np.ix_(*[np.clip(np.floor(c).astype(np.int64), 0, n - 1)
                         for c, n in zip(coordinates, self.low.shape)])
        low, high = self.low[lower], self.high[lower]
        out = np.where(low < 0, 0, low).astype(np.uint8)
        uncertain = np.zeros(out.shape, np.uint8)
        undecided = (low != high) | (low < 0)
        maybe = np.nonzero(undecided | (self.sure_low[lower] != self.sure_high[lower]) | (self.sure_low[lower] < 0))
        if maybe[0].size:
            points = [c[i] for c, i in zip(coordinates, maybe)]
            values = np.stack([ndimage.map_coordinates(c, points, order=1, mode="nearest", prefilter=False)
                               for c in self.logits])
            uncertain[maybe] = uncertain_bits(values, self.manager.has_regions)
            unsure = undecided[maybe]
            halves = values[:, unsure].astype(np.float16)
            out[tuple(i[unsure] for i in maybe)] = self.manager.convert_logits_to_segmentation(
                halves if self.manager.has_regions else halves.astype(np.float32))
        return out, uncertain
