"""Full-resolution labels from a network's low-resolution logits, interpolating only where the label can change.

nnU-Net brings every class's logits to the image grid by linear interpolation (order 1; nearest neighbour along a
thick-slice axis), rounds them to float16 and takes the argmax (or, for regions, sigmoid > 0.5 each). A linear
interpolation is a convex combination of the network voxels around it, so where those voxels all give the same
label, each with a margin that float16 rounding can't eat, every image voxel between them gets that label too.
Only the image voxels near a boundary are interpolated, with the same formula: a few percent of the image instead of
every voxel for every class.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

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

    def __init__(self, logits: np.ndarray, up: Resampling, start, label_manager):
        self.logits = logits.astype(np.float64)
        self.up = up
        self.start = start
        self.manager = label_manager
        self.low, self.high = _cells(decided_labels(logits, label_manager.has_regions), up)

    def labels(self, window: tuple[slice, ...]) -> np.ndarray:
        coordinates = [self.up.source(a, w) - s for a, (w, s) in enumerate(zip(window, self.start))]
        lower = np.ix_(*[np.clip(np.floor(c).astype(np.int64), 0, n - 1)
                         for c, n in zip(coordinates, self.low.shape)])
        low, high = self.low[lower], self.high[lower]
        out = np.where(low < 0, 0, low).astype(np.uint8)
        unsure = np.nonzero((low != high) | (low < 0))
        if unsure[0].size:
            points = [c[i] for c, i in zip(coordinates, unsure)]
            values = np.stack([ndimage.map_coordinates(c, points, order=1, mode="nearest", prefilter=False)
                               for c in self.logits]).astype(np.float16)
            out[unsure] = self.manager.convert_logits_to_segmentation(
                values if self.manager.has_regions else values.astype(np.float32))
        return out
