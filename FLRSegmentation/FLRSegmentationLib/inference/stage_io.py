"""The cascade's stage I/O mechanics: orientation, crop box, channel stacking and training pairs.

Inference (engine.py) and the dataset tools that prepare training data both call these functions, so a trained
model and the extension can't drift apart. Arrays are numpy in SimpleITK order (z, y, x).

Design (ours; the seed paper does not state it, docs/DATASET.md section 2):
- every stage sees the image in the canonical LPS array orientation (a permutation and flips of the input's
  axes, no interpolation), so left and right are the patient's, whatever the acquisition orientation;
- stages 2 (CRLM) and 3 (FLR) see the CT cropped to the liver's bounding box plus CROP_MARGIN_MM, with earlier
  masks as extra channels (0/1, no normalisation) after the CT (the channels are in stages.STAGES).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..vocabulary.labels import split_label_map
from ..vocabulary.stages import StageSpec

CROP_MARGIN_MM = 20.0


@dataclass(frozen=True)
class Reorientation:
    """Permutation and flips that take an input array (z, y, x) to canonical LPS order, and back, exactly."""

    axes: tuple[int, int, int]  # canonical axis b takes input axis axes[b]
    flips: tuple[bool, bool, bool]  # flip canonical axis b after transposing

    @classmethod
    def from_direction(cls, direction) -> "Reorientation":
        d = np.asarray(direction, float).reshape(3, 3)  # columns: index axes i, j, k in world (LPS)
        world_of_index = np.abs(d).argmax(0)
        if len(set(world_of_index)) != 3:
            raise ValueError("direction matrix is degenerate")
        # numpy axis a is index axis 2 - a; canonical numpy axis b is world axis 2 - b
        axes = tuple(int(2 - np.flatnonzero(world_of_index == 2 - b)[0]) for b in range(3))
        flips = tuple(bool(d[2 - b, 2 - axes[b]] < 0) for b in range(3))
        return cls(axes, flips)

    def forward(self, array: np.ndarray) -> np.ndarray:
        out = np.transpose(array, self.axes)
        return np.ascontiguousarray(np.flip(out, [b for b in range(3) if self.flips[b]]))

    def backward(self, array: np.ndarray) -> np.ndarray:
        out = np.flip(array, [b for b in range(3) if self.flips[b]])
        return np.ascontiguousarray(np.transpose(out, np.argsort(self.axes)))

    def spacing_zyx(self, spacing_xyz) -> tuple[float, float, float]:
        zyx = tuple(float(s) for s in spacing_xyz[::-1])
        return tuple(zyx[a] for a in self.axes)


def crop_box(liver: np.ndarray, spacing_zyx, margin_mm: float = CROP_MARGIN_MM) -> tuple[slice, ...] | None:
    """The liver's bounding box grown by margin_mm on every side, clipped to the image; None for an empty mask."""
    tight = bounding_box(liver)
    if tight is None:
        return None
    box = []
    for axis, b in enumerate(tight):
        pad = int(np.ceil(margin_mm / float(spacing_zyx[axis])))
        box.append(slice(max(0, b.start - pad), min(liver.shape[axis], b.stop + pad)))
    return tuple(box)


def bounding_box(mask: np.ndarray) -> tuple[slice, ...] | None:
    """The smallest box holding every non-zero voxel, None for an empty mask. Projections per axis, not
    np.nonzero: no index arrays of 8 bytes per voxel of the mask."""
    box = []
    for axis in range(mask.ndim):
        hits = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        if hits.size == 0:
            return None
        box.append(slice(int(hits[0]), int(hits[-1]) + 1))
    return tuple(box)


def stage_input(spec: StageSpec, ct: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray:
    """Stack the channels a stage expects, (c, z, y, x) float32: the CT then earlier masks as 0/1."""
    planes = [ct.astype(np.float32, copy=False)]
    for name in spec.channels[1:]:
        planes.append((masks[name] > 0).astype(np.float32))
    return np.stack(planes)


def stage_target(spec: StageSpec, label_map: np.ndarray) -> np.ndarray:
    """The training target of a stage from an output-encoded label map (1 liver, 2 CRLM, 3 FLR)."""
    masks = split_label_map(label_map)
    if spec.name == "e2e":
        return label_map.astype(np.uint8)
    return masks[spec.name].astype(np.uint8)


def training_case(spec: StageSpec, ct, label_map) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """A stage's training pair from a CT and its label map (SimpleITK images on one grid), as inference sees it.

    Returns the input (c, z, y, x), the target (z, y, x) and the spacing (z, y, x), all in canonical orientation
    and, for cropped stages, inside the reference liver's box.
    """
    import SimpleITK as sitk  # only here: the rest of this module is numpy

    orient = Reorientation.from_direction(ct.GetDirection())
    spacing = orient.spacing_zyx(ct.GetSpacing())
    ct_array = orient.forward(sitk.GetArrayViewFromImage(ct))
    labels = orient.forward(sitk.GetArrayViewFromImage(label_map))
    if spec.cropped:
        box = crop_box(labels > 0, spacing)
        if box is None:
            raise ValueError("the reference label map has no liver to crop to")
        ct_array, labels = ct_array[box], labels[box]
    image = stage_input(spec, ct_array, split_label_map(labels))
    return image, stage_target(spec, labels), spacing
