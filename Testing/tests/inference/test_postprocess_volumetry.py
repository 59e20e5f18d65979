"""Post-processing rules one by one, and exact volumes on constructed masks."""

import numpy as np
import pytest

from FLRSegmentationLib.inference.postprocess import PostprocessRules, apply_rules
from FLRSegmentationLib.volumetry.segmentation_volumes import measure_label_map_volumes
from FLRSegmentationLib.volumetry.volumes import measure_masks


def masks():
    liver = np.zeros((10, 10, 20), bool)
    liver[2:8, 2:8, 2:12] = True  # 360 voxels, the main liver
    liver[2:4, 2:4, 16:18] = True  # an 8-voxel island
    crlm = np.zeros_like(liver)
    crlm[3:5, 3:5, 3:5] = True  # 8 voxels inside
    crlm[0, 0, 0] = True  # 1 voxel outside the liver
    flr = np.zeros_like(liver)
    flr[2:8, 2:8, 4:12] = True  # overlaps 4 CRLM voxels (x = 4)
    flr[9, 9, 19] = True  # outside the liver
    return liver, crlm, flr


def test_all_rules():
    liver, crlm, flr = apply_rules(*masks(), PostprocessRules())
    assert liver.sum() == 360 and crlm.sum() == 8
    assert not (flr & crlm).any() and not (flr & ~liver).any()
    assert flr.sum() == 6 * 6 * 8 - 4


@pytest.mark.parametrize("rule", list(PostprocessRules.__dataclass_fields__))
def test_each_rule_can_be_switched_off(rule):
    on = apply_rules(*masks(), PostprocessRules())
    off = apply_rules(*masks(), PostprocessRules(**{rule: False}))
    assert any(a.sum() != b.sum() for a, b in zip(on, off))


def test_volumes_anisotropic_exact():
    label_map = np.zeros((4, 5, 6), np.uint8)
    label_map[0:2] = 1  # 60 voxels of parenchyma
    label_map[2, :, :] = 3  # 30 voxels of FLR
    label_map[3, 0, 0:2] = 2  # 2 voxels of CRLM
    spacing_xyz = (0.5, 0.8, 2.5)  # 1 mm^3 per voxel
    v = measure_label_map_volumes(label_map, spacing_xyz)
    assert v["liver_ml"] == pytest.approx(92 / 1000)
    assert v["crlm_ml"] == pytest.approx(2 / 1000)
    assert v["functional_liver_ml"] == pytest.approx(90 / 1000)
    assert v["flr_ml"] == pytest.approx(30 / 1000)
    assert v["flr_percent"] == pytest.approx(100 * 30 / 90, abs=1e-3)


def test_no_liver_gives_no_flr_percent_instead_of_dividing_by_zero():
    empty = np.zeros((3, 3, 3), bool)
    assert measure_masks(empty, empty, empty, (1, 1, 1))["flr_percent"] is None


def test_tumour_inside_flr_is_not_counted_as_remnant():
    liver = np.ones((2, 2, 2), bool)
    crlm = np.zeros_like(liver)
    crlm[0, 0, 0] = True
    flr = liver.copy()
    v = measure_masks(liver, crlm, flr, (10, 10, 10))
    assert v["flr_ml"] == pytest.approx(7.0) and v["flr_percent"] == pytest.approx(100.0)
