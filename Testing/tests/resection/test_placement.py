"""Initial placement on a phantom whose FLR is the tumour-free side of a plane: the first plane finds that plane,
and the first patch lies on it, covers the whole liver and removes the plane's voxels."""

import numpy as np
import pytest
import SimpleITK as sitk

from FLRSegmentationLib.imaging.image_grid import ImageGrid
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.resection.plan import ResectionPlan
from FLRSegmentationLib.resection.planner import ResectionPlanner
from FLRSegmentationLib.vocabulary.labels import split_label_map


@pytest.fixture(scope="module")
def phantom():
    _, truth = make_phantom(3)
    return split_label_map(sitk.GetArrayFromImage(truth)), ImageGrid.of_image(truth)


def dice(a, b) -> float:
    return 2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


def test_initial_plane_separates_the_flr_from_the_tumour_bearing_part(phantom):
    masks, grid = phantom
    planner = ResectionPlanner(masks["liver"], masks["crlm"], grid, masks["flr"])
    plan = planner.initial_plan("plane")
    evaluation = planner.evaluate(plan)
    planned_flr = planner.full_masks(evaluation.removed)["flr"]
    assert dice(planned_flr, masks["flr"]) > 0.99
    assert evaluation.result["tumours"] and all(t["side"] == "resected" for t in evaluation.result["tumours"])


def test_without_flr_the_plane_passes_the_liver_centre_facing_the_tumours(phantom):
    masks, grid = phantom
    planner = ResectionPlanner(masks["liver"], masks["crlm"], grid)
    cut = planner.initial_plan("plane").resections[0]
    index = np.argwhere(masks["liver"])[:, ::-1]  # (i, j, k)
    points = np.asarray(grid.origin) + (index * grid.spacing) @ np.reshape(grid.direction, (3, 3)).T
    np.testing.assert_allclose(cut.origin, points.mean(axis=0), atol=1e-6)
    tumours = planner.evaluate(ResectionPlan((cut,))).result["tumours"]
    assert all(t["side"] in ("resected", "cut") for t in tumours)

    no_tumours = ResectionPlanner(masks["liver"], np.zeros_like(masks["liver"]), grid)
    cut = no_tumours.initial_plan("plane").resections[0]
    assert cut.normal == (-1.0, 0.0, 0.0)  # the patient's right: a right hepatectomy
    no_tumours.evaluate(ResectionPlan((cut,)))  # it cuts the liver (a miss would raise)


def test_initial_patch_is_flat_on_the_plane_and_covers_the_liver(phantom):
    masks, grid = phantom
    planner = ResectionPlanner(masks["liver"], masks["crlm"], grid, masks["flr"])
    plane = planner.initial_plan("plane").resections[0]
    patch_cut = planner.initial_plan("bezier").resections[0]
    patch = patch_cut.patch
    points = patch.points.reshape(-1, 3)
    np.testing.assert_allclose((points - plane.origin) @ plane.unit_normal, 0.0, atol=1e-9)
    normal = patch.normal([0.5], [0.5])[0]
    np.testing.assert_allclose(normal / np.linalg.norm(normal), plane.unit_normal, atol=1e-12)
    index = np.argwhere(masks["liver"])[:, ::-1]
    liver_points = np.asarray(grid.origin) + (index * grid.spacing) @ np.reshape(grid.direction, (3, 3)).T
    u, v = patch.closest_parameters(liver_points)
    assert u.min() > 0 and u.max() < 1 and v.min() > 0 and v.max() < 1  # every liver voxel faces the patch
    by_plane = planner.evaluate(ResectionPlan((plane,)))
    by_patch = planner.evaluate(ResectionPlan((patch_cut,)))
    np.testing.assert_array_equal(by_patch.removed, by_plane.removed)
