"""Which voxels a cut removes, against voxel-counted and analytic truths, on oblique and anisotropic grids.

The truths are computed here from the grid alone (voxel centres = origin + direction @ (index x spacing)), never
with the engine's own box arithmetic.
"""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from FLRSegmentationLib.resection.plan import PlaneCut, ResectionPlan
from FLRSegmentationLib.resection.planner import ResectionPlanner
from FLRSegmentationLib.resection.sides import ON_SURFACE_MM
from FLRSegmentationLib.volumetry.volumes import voxel_volume_ml
from resection_shapes import (centres, ellipsoid, ellipsoid_cap_ml, flat_patch, grid, grid_centre, parabolic_cylinder,
                              unit, voxel_error_ml)

GRIDS = {"oblique-anisotropic": grid(), "axial-anisotropic": grid(spacing=(0.7, 0.7, 2.5), size=(80, 90, 24),
                                                                    angles_deg=(0, 0, 0))}
SHAPES = {"sphere": ((21.0, 21.0, 21.0), np.eye(3)),
          "ellipsoid": ((24.0, 17.0, 12.0), Rotation.from_euler("zyx", [35, 20, -50], degrees=True).as_matrix())}
NORMALS = [unit([0.3, -0.5, 0.8]), unit([-1.0, 0.2, 0.1]), unit([0.05, 0.9, -0.4])]


def removed_mask(liver, g, cut) -> np.ndarray:
    """The engine's removed voxels on the full grid, checked to split the liver exactly."""
    planner = ResectionPlanner(liver, np.zeros_like(liver), g)
    evaluation = planner.evaluate(ResectionPlan((cut,)))
    masks = planner.full_masks(evaluation.removed)
    remnant = liver & ~masks["resected"]
    assert not (masks["resected"] & ~liver).any()
    assert np.count_nonzero(masks["resected"]) + np.count_nonzero(remnant) == np.count_nonzero(liver)
    np.testing.assert_array_equal(masks["resected"] | remnant, liver)
    np.testing.assert_array_equal(masks["flr"], remnant)  # no CRLM here: the planned FLR is the remnant
    voxel_ml = voxel_volume_ml(g.spacing)
    assert evaluation.result["resected_ml"] == round(np.count_nonzero(masks["resected"]) * voxel_ml, 3)
    assert evaluation.result["remnant_ml"] == round(np.count_nonzero(remnant) * voxel_ml, 3)
    return masks["resected"]


@pytest.mark.parametrize("grid_name", GRIDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("offset_mm", [-9.3, 0.0, 6.1, 14.7])
def test_plane_cut_matches_voxel_count_exactly_and_cap_formula(grid_name, shape, offset_mm):
    g = GRIDS[grid_name]
    axes, rotation = SHAPES[shape]
    points, centre = centres(g), grid_centre(g) + [0.37, -0.21, 0.13]
    liver = ellipsoid(points, centre, axes, rotation)
    for normal in NORMALS:
        origin = centre + offset_mm * normal
        removed = removed_mask(liver, g, PlaneCut("cut", tuple(origin), tuple(3.7 * normal)))  # length ignored
        truth = liver & ((points - origin) @ normal > ON_SURFACE_MM)  # on the plane (to rounding): kept
        np.testing.assert_array_equal(removed, truth)
        volume = np.count_nonzero(removed) * voxel_volume_ml(g.spacing)
        area = 5 * np.pi * max(axes) ** 2  # the cap's boundary is at most the ellipsoid's surface and a disk
        assert abs(volume - ellipsoid_cap_ml(axes, rotation, normal, offset_mm)) <= voxel_error_ml(g, area)


@pytest.mark.parametrize("shape", SHAPES)
def test_rotating_object_and_plane_together_changes_nothing_beyond_voxelisation(shape):
    g = GRIDS["oblique-anisotropic"]
    axes, rotation = SHAPES[shape]
    points, centre = centres(g), grid_centre(g)
    normal, offset = NORMALS[0], 4.2
    volumes = []
    for angles in ([0, 0, 0], [30, -20, 75], [90, 45, -10]):
        turn = Rotation.from_euler("xyz", angles, degrees=True).as_matrix()
        liver = ellipsoid(points, centre, axes, turn @ rotation)
        cut = PlaneCut("cut", tuple(centre + offset * (turn @ normal)), tuple(turn @ normal))
        volumes.append(np.count_nonzero(removed_mask(liver, g, cut)) * voxel_volume_ml(g.spacing))
    expected = ellipsoid_cap_ml(axes, rotation, normal, offset)
    area = 5 * np.pi * max(axes) ** 2
    assert max(volumes) - min(volumes) <= 2 * voxel_error_ml(g, area)
    assert all(abs(v - expected) <= voxel_error_ml(g, area) for v in volumes)
    assert len(set(volumes)) > 1  # the voxels did change: the test compares different voxelisations


@pytest.mark.parametrize("grid_name", GRIDS)
def test_flat_patch_removes_exactly_the_planes_voxels(grid_name):
    g = GRIDS[grid_name]
    points, centre = centres(g), grid_centre(g) + [0.41, 0.17, -0.29]
    liver = ellipsoid(points, centre, *SHAPES["ellipsoid"])
    for normal, offset in zip(NORMALS, (-5.3, 2.9, 8.8)):
        origin = centre + offset * normal
        plane = removed_mask(liver, g, PlaneCut("cut", tuple(origin), tuple(normal)))
        patch = removed_mask(liver, g, flat_patch(origin, normal))
        np.testing.assert_array_equal(patch, plane)
    # a plane through a whole layer of voxel centres: they are on it (kept) for the plane and the patch alike
    normal = np.reshape(g.direction, (3, 3))[:, 2]
    origin = points[tuple(n // 2 for n in g.shape)]
    plane = removed_mask(liver, g, PlaneCut("cut", tuple(origin), tuple(normal)))
    np.testing.assert_array_equal(removed_mask(liver, g, flat_patch(origin, normal)), plane)
    layer = g.shape[0] // 2
    assert liver[layer].any() and not plane[layer].any() and plane[layer + 1:].sum() == liver[layer + 1:].sum()


@pytest.mark.parametrize("grid_name", GRIDS)
@pytest.mark.parametrize("curvature", [0.02, 0.08])
def test_curved_patch_matches_its_implicit_surface(grid_name, curvature):
    g = GRIDS[grid_name]
    points, centre = centres(g), grid_centre(g) + [0.23, -0.31, 0.19]
    liver = ellipsoid(points, centre, *SHAPES["sphere"])
    rotation = Rotation.from_euler("xyz", [25, -40, 15], degrees=True).as_matrix()
    vertex = centre - 6.0 * rotation[:, 2]
    cut = parabolic_cylinder(vertex, rotation, curvature, half_length=70.0, half_width=70.0)
    removed = removed_mask(liver, g, cut)
    local = (points - vertex) @ rotation
    height = local[..., 2] - curvature * local[..., 0] ** 2
    distance = np.abs(height) / np.sqrt(1 + (2 * curvature * local[..., 0]) ** 2)  # to first order
    truth = liver & (height > 0)
    far = distance > 0.05
    assert 0 < np.count_nonzero(truth) < np.count_nonzero(liver)
    np.testing.assert_array_equal(removed[far], truth[far])
    assert np.count_nonzero(liver & ~far) < 0.01 * np.count_nonzero(liver)  # the excluded band is thin
