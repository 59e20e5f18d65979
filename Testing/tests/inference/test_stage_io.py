"""Stage I/O: orientation, crop, channel order, label encoding."""

import itertools

import numpy as np
import pytest
import SimpleITK as sitk

from FLRSegmentationLib.inference.stage_io import Reorientation, crop_box, stage_input, stage_target, training_case
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.vocabulary.labels import combine_masks, split_label_map
from FLRSegmentationLib.vocabulary.stages import STAGES

ORIENTATIONS = [np.eye(3)[:, list(p)] * np.array(s) for p in itertools.permutations(range(3))
                for s in itertools.product([-1, 1], repeat=3)]


@pytest.mark.parametrize("direction", ORIENTATIONS)
def test_reorientation_is_exact_and_canonical(direction):
    array = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    image = sitk.GetImageFromArray(array)
    image.SetDirection(direction.ravel())
    image.SetSpacing((1.0, 2.0, 3.0))
    orient = Reorientation.from_direction(image.GetDirection())
    canon = orient.forward(array)
    assert np.array_equal(orient.backward(canon), array)
    # canonical axis b steps along world axis 2 - b in the positive direction
    for b in range(3):
        index = [0, 0, 0]
        index_next = list(index)
        index_next[b] = 1
        v0, v1 = canon[tuple(index)], canon[tuple(index_next)]
        p0 = np.array(image.TransformIndexToPhysicalPoint([int(i) for i in np.argwhere(array == v0)[0][::-1]]))
        p1 = np.array(image.TransformIndexToPhysicalPoint([int(i) for i in np.argwhere(array == v1)[0][::-1]]))
        step = p1 - p0
        assert step[2 - b] > 0 and np.allclose(np.delete(step, 2 - b), 0)
    spacing = orient.spacing_zyx(image.GetSpacing())
    assert sorted(spacing) == [1.0, 2.0, 3.0]


def test_reorientation_of_oblique_direction_uses_nearest_axes():
    angle = np.deg2rad(20)
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    orient = Reorientation.from_direction((rot @ np.diag([-1, 1, 1])).ravel())
    assert orient.axes == (0, 1, 2) and orient.flips == (False, False, True)


def test_crop_box_adds_margin_in_mm_and_clips():
    liver = np.zeros((20, 30, 40), bool)
    liver[5:10, 10:20, 30:38] = True
    box = crop_box(liver, (2.5, 1.0, 1.0), margin_mm=5)
    assert box == (slice(3, 12), slice(5, 25), slice(25, 40))
    assert crop_box(np.zeros_like(liver), (1, 1, 1)) is None


def test_stage_input_channel_order_and_targets():
    label_map = np.array([[[0, 1, 2, 3]]], np.uint8)
    masks = split_label_map(label_map)
    ct = np.array([[[-1000, 100, 50, 110]]], np.int16)
    x = stage_input(STAGES["flr"], ct, masks)
    assert x.shape == (3, 1, 1, 4) and x.dtype == np.float32
    assert x[0].tolist() == ct.astype(np.float32).tolist()
    assert x[1].ravel().tolist() == [0, 1, 1, 1] and x[2].ravel().tolist() == [0, 0, 1, 0]
    assert stage_target(STAGES["liver"], label_map).ravel().tolist() == [0, 1, 1, 1]
    assert stage_target(STAGES["crlm"], label_map).ravel().tolist() == [0, 0, 1, 0]
    assert stage_target(STAGES["flr"], label_map).ravel().tolist() == [0, 0, 0, 1]
    assert stage_target(STAGES["e2e"], label_map).ravel().tolist() == [0, 1, 2, 3]
    assert np.array_equal(combine_masks(masks["liver"], masks["crlm"], masks["flr"]), label_map)
    assert STAGES["flr"].channel_names() == {"0": "CT", "1": "noNorm", "2": "noNorm"}


def test_training_case_crops_like_inference():
    ct, labels = make_phantom(2)
    image, target, spacing = training_case(STAGES["crlm"], ct, labels)
    orient = Reorientation.from_direction(ct.GetDirection())
    canon = orient.forward(sitk.GetArrayFromImage(labels))
    box = crop_box(canon > 0, spacing)
    assert image.shape[1:] == canon[box].shape == target.shape
    assert np.array_equal(image[1] > 0, canon[box] > 0)
    assert target.sum() == (canon == 2).sum()
