"""The phantom generator: deterministic, anatomically consistent labels, any grid."""

import numpy as np
import SimpleITK as sitk

from FLRSegmentationLib.inference.stage_io import Reorientation
from FLRSegmentationLib.research.phantom import centered_grid, make_phantom, random_direction, sample_anatomy
from FLRSegmentationLib.vocabulary.labels import LABEL_CRLM, LABEL_FLR


def arrays(seed, **kw):
    ct, labels = make_phantom(seed, **kw)
    return ct, labels, sitk.GetArrayFromImage(ct), sitk.GetArrayFromImage(labels)


def test_same_seed_same_phantom_and_different_seed_differs():
    _, _, ct_a, lab_a = arrays(3)
    ct_b_img, _, ct_b, lab_b = arrays(3)
    assert np.array_equal(ct_a, ct_b) and np.array_equal(lab_a, lab_b)
    _, _, ct_c, _ = arrays(4)
    assert ct_c.shape != ct_a.shape or not np.array_equal(ct_a, ct_c)


def test_labels_follow_the_right_hepatectomy_plan():
    for seed in range(5):
        ct, labels, ct_a, lab = arrays(seed)
        assert (lab == LABEL_FLR).sum() > 0 and (lab == 1).sum() > 0
        orient = Reorientation.from_direction(ct.GetDirection())
        canon = orient.forward(lab)
        xs = np.arange(canon.shape[2])[None, None, :]
        # in LPS order the x index grows to the patient's left: the FLR lies left of the tumours
        flr_x = np.broadcast_to(xs, canon.shape)[canon == LABEL_FLR].mean()
        if (canon == LABEL_CRLM).any():
            crlm_x = np.broadcast_to(xs, canon.shape)[canon == LABEL_CRLM].max()
            assert flr_x > crlm_x
        liver_hu = ct_a[lab == 1].mean()
        assert 80 < liver_hu < 150
        if (lab == LABEL_CRLM).any():
            assert ct_a[lab == LABEL_CRLM].mean() < liver_hu - 30  # hypodense metastases


def test_volume_is_the_same_on_any_grid_orientation():
    rng = np.random.default_rng(0)
    anatomy_seed = 11
    volumes = []
    for _ in range(3):
        grid = centered_grid((70, 70, 48), (4.8, 4.8, 4.5), random_direction(rng, 15))
        _, labels = make_phantom(anatomy_seed, grid=grid)
        lab = sitk.GetArrayFromImage(labels)
        volumes.append((lab > 0).sum() * np.prod(labels.GetSpacing()) / 1000)
    assert max(volumes) - min(volumes) < 0.03 * max(volumes)
    assert 1000 < volumes[0] < 3000  # an adult liver, mL


def test_anatomy_draws_at_least_one_tumour_on_the_resected_side():
    for seed in range(10):
        anatomy = sample_anatomy(np.random.default_rng(seed))
        assert 1 <= len(anatomy.tumours) <= 3
        normal = np.asarray(anatomy.plane_normal)
        for t in anatomy.tumours:
            assert (np.asarray(t.center) - anatomy.plane_point) @ normal < 0
