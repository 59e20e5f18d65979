"""Tumours against a plan: side (resected, remnant, cut), margin and flags, on oblique and anisotropic grids.

The margin is the smallest distance from a tumour voxel's centre to a cut surface. For a sphere of radius R whose
centre lies D from the plane it is never below D - R (every centre inside the sphere is within R of its centre) and
at most one voxel diagonal above it (a ball of half a diagonal, which always holds a voxel centre, fits in the sphere
touching its point nearest the plane).
"""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from FLRSegmentationLib.resection.plan import PlaneCut, ResectionPlan
from FLRSegmentationLib.resection.planner import ResectionPlanner
from FLRSegmentationLib.resection.tumours import (CUT, FLAG_BELOW_R0, FLAG_BELOW_TARGET, FLAG_CUT, FLAG_IN_REMNANT,
                                                  REMNANT, RESECTED)
from resection_shapes import centres, ellipsoid, flat_patch, grid, grid_centre, parabolic_cylinder, unit

GRIDS = {"oblique-anisotropic": grid(), "axial-anisotropic": grid(spacing=(0.7, 0.7, 2.5), size=(80, 90, 24),
                                                                    angles_deg=(0, 0, 0))}
RNG = np.random.default_rng(11)


def tumour_case(g, radius, offset=(0.3, -0.2, 0.1)):
    points, centre = centres(g), grid_centre(g) + np.asarray(offset)
    liver = ellipsoid(points, grid_centre(g), (24.0, 24.0, 24.0))
    crlm = ellipsoid(points, centre, (radius,) * 3)
    return points, liver, crlm, centre


def evaluate(liver, crlm, g, *cuts) -> dict:
    return ResectionPlanner(liver, crlm, g).evaluate(ResectionPlan(tuple(cuts))).result


def normals(g) -> list[np.ndarray]:
    """Two random directions and the grid's slice axis (where voxel centres lie in layers one spacing apart)."""
    return [unit(RNG.normal(size=3)), unit(RNG.normal(size=3)), np.reshape(g.direction, (3, 3))[:, 2]]


@pytest.mark.parametrize("grid_name", GRIDS)
def test_sphere_margin_is_d_minus_r_to_the_voxel(grid_name):
    g = GRIDS[grid_name]
    diagonal = float(np.linalg.norm(g.spacing))
    for radius, distance in ((4.0, 9.5), (6.5, 7.2), (3.2, 18.0)):
        points, liver, crlm, centre = tumour_case(g, radius)
        for normal in normals(g):
            origin = centre - distance * normal  # the normal points at the tumour: it is removed
            result = evaluate(liver, crlm, g, PlaneCut("cut", tuple(origin), tuple(normal)))
            (tumour,) = result["tumours"]
            assert tumour["side"] == RESECTED and result["crlm_count"] == 1
            exact = ((points[crlm] - origin) @ normal).min()  # the definition, from voxel centres
            assert tumour["margin_mm"] == round(exact, 2)
            assert distance - radius - 0.005 <= tumour["margin_mm"] <= distance - radius + diagonal
            expected_flags = [f for f, limit in ((FLAG_BELOW_R0, 1), (FLAG_BELOW_TARGET, 10))
                              if tumour["margin_mm"] < limit]
            assert tumour["flags"] == expected_flags


@pytest.mark.parametrize("grid_name", GRIDS)
def test_plane_through_the_tumour_cuts_it_and_kept_tumours_are_flagged(grid_name):
    g = GRIDS[grid_name]
    points, liver, crlm, centre = tumour_case(g, 6.0)
    normal = unit([0.2, 0.7, -0.4])
    cut = evaluate(liver, crlm, g, PlaneCut("cut", tuple(centre - 3.0 * normal), tuple(normal)))["tumours"][0]
    assert cut["side"] == CUT and cut["margin_mm"] == 0.0
    assert cut["flags"] == [FLAG_CUT, FLAG_BELOW_R0, FLAG_BELOW_TARGET]
    kept = evaluate(liver, crlm, g, PlaneCut("cut", tuple(centre + 9.0 * normal), tuple(normal)))["tumours"][0]
    assert kept["side"] == REMNANT and kept["flags"] == [FLAG_IN_REMNANT]
    assert 3.0 <= kept["margin_mm"] <= 3.0 + np.linalg.norm(g.spacing)  # how far the cut is from taking it


def test_two_tumours_two_cuts_union_and_nearest_surface():
    g = GRIDS["oblique-anisotropic"]
    points = centres(g)
    centre = grid_centre(g)
    liver = ellipsoid(points, centre, (24.0, 24.0, 24.0))
    first, second = centre + [-12.0, 0.0, 0.0], centre + [12.0, 0.0, 3.0]
    crlm = ellipsoid(points, first, (4.0,) * 3) | ellipsoid(points, second, (3.0,) * 3)
    left = PlaneCut("left", tuple(first + [6.0, 0, 0]), (-1.0, 0.0, 0.0))  # takes the first tumour
    right = PlaneCut("right", tuple(second - [5.0, 0, 0]), (1.0, 0.0, 0.0))  # takes the second
    result = evaluate(liver, crlm, g, left, right)
    assert [t["side"] for t in result["tumours"]] == [RESECTED, RESECTED]
    by_volume = sorted(result["tumours"], key=lambda t: t["volume_ml"])
    small, large = crlm & (points[..., 0] > centre[0]), crlm & (points[..., 0] < centre[0])
    for tumour, mask in ((by_volume[0], small), (by_volume[1], large)):
        nearest = min(np.abs((points[mask] - c.origin) @ c.unit_normal).min() for c in (left, right))
        assert tumour["margin_mm"] == round(nearest, 2)
        assert tumour["volume_ml"] == round(np.count_nonzero(mask) * np.prod(g.spacing) / 1000, 3)
    union = liver & (((points - left.origin) @ left.unit_normal > 0) |
                     ((points - right.origin) @ right.unit_normal > 0))
    assert result["resected_ml"] == round(np.count_nonzero(union) * np.prod(g.spacing) / 1000, 3)


@pytest.mark.parametrize("grid_name", GRIDS)
def test_flat_patch_margins_equal_the_planes(grid_name):
    g = GRIDS[grid_name]
    _, liver, crlm, centre = tumour_case(g, 5.0)
    for normal in normals(g):
        origin = centre - 8.3 * normal
        plane = evaluate(liver, crlm, g, PlaneCut("cut", tuple(origin), tuple(normal)))
        patch = evaluate(liver, crlm, g, flat_patch(origin, normal))
        assert patch["tumours"] == plane["tumours"] and patch["flr_ml"] == plane["flr_ml"]


def test_curved_patch_margin_is_the_nearest_voxel_centre_distance():
    g = GRIDS["oblique-anisotropic"]
    points, liver, crlm, centre = tumour_case(g, 4.5)
    rotation = np.eye(3)
    cut = parabolic_cylinder(centre - [0, 0, 12.0], rotation, 0.05, 60.0, 60.0)
    (tumour,) = evaluate(liver, crlm, g, cut)["tumours"]
    assert tumour["side"] == RESECTED
    t = np.linspace(0, 1, 1201)
    samples = cut.patch.evaluate(*[a.ravel() for a in np.meshgrid(t, t, indexing="ij")])
    brute = cKDTree(points[crlm]).query(samples)[0].min()  # sample spacing 0.1 mm: within 0.05 mm of the truth
    assert brute - 0.06 <= tumour["margin_mm"] <= brute + 0.005


def test_surface_scalars_are_the_distance_to_the_nearest_tumour_voxel():
    g = GRIDS["axial-anisotropic"]
    points, liver, crlm, centre = tumour_case(g, 5.0)
    planner = ResectionPlanner(liver, crlm, g)
    plan = ResectionPlan((PlaneCut("cut", tuple(centre - [0, 0, 7.0]), (0.0, 0.3, 1.0)),
                          parabolic_cylinder(centre + [0, 0, 9.0], np.eye(3), 0.03, 40.0, 40.0)))
    for mesh in planner.meshes(plan):
        expected = cKDTree(points[crlm]).query(mesh.points)[0]
        np.testing.assert_allclose(mesh.distance_mm, expected, rtol=0, atol=1e-9)
        assert set(np.unique(mesh.band)) <= {0, 1, 2}
        np.testing.assert_array_equal(mesh.band, np.where(expected < 1, 0, np.where(expected < 10, 1, 2)))
