"""Bicubic Bezier patches: the basis, corner interpolation, a flat grid is the plane it spans, closest points."""

import numpy as np
from scipy.spatial import cKDTree

from FLRSegmentationLib.resection.bezier import BezierPatch, bernstein
from resection_shapes import unit

RNG = np.random.default_rng(3)
O, U, V = np.array([101.3, -57.2, 233.9]), np.array([80.0, 10.0, -5.0]), np.array([-4.0, 60.0, 25.0])


def flat_patch() -> BezierPatch:
    """P_ij = O + (i / 3) U + (j / 3) V."""
    return BezierPatch([O + i / 3 * U + j / 3 * V for i in range(4) for j in range(4)])


def test_basis_sums_to_one_and_its_derivatives_to_zero():
    t = np.concatenate([[0.0, 1.0], RNG.random(200)])
    np.testing.assert_allclose(bernstein(t).sum(axis=1), 1.0, rtol=0, atol=1e-15)
    for derivative in (1, 2):
        np.testing.assert_allclose(bernstein(t, derivative).sum(axis=1), 0.0, rtol=0, atol=1e-12)
    assert (bernstein(t) >= 0).all()
    # derivatives against central differences
    step = 1e-6
    inner = RNG.uniform(0.1, 0.9, 50)
    np.testing.assert_allclose(bernstein(inner, 1), (bernstein(inner + step) - bernstein(inner - step)) / (2 * step),
                               atol=1e-7)
    np.testing.assert_allclose(bernstein(inner, 2), (bernstein(inner + step, 1) - bernstein(inner - step, 1)) /
                               (2 * step), atol=1e-6)


def test_corners_are_interpolated():
    points = RNG.normal(0, 50, (16, 3))
    patch = BezierPatch(points)
    corners = patch.evaluate(np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.0, 1.0, 0.0, 1.0]))
    np.testing.assert_allclose(corners, points[[0, 3, 12, 15]], rtol=0, atol=1e-12)


def test_flat_grid_is_the_plane_it_spans():
    u, v = RNG.random(500), RNG.random(500)
    patch = flat_patch()
    np.testing.assert_allclose(patch.evaluate(u, v), O + u[:, None] * U + v[:, None] * V, rtol=0, atol=1e-12)
    _, su, sv, suu, suv, svv = patch.derivatives(u, v)
    np.testing.assert_allclose(su, np.broadcast_to(U, su.shape), atol=1e-11)
    np.testing.assert_allclose(sv, np.broadcast_to(V, sv.shape), atol=1e-11)
    for second in (suu, suv, svv):
        np.testing.assert_allclose(second, 0.0, atol=1e-10)
    np.testing.assert_allclose(patch.normal(u, v), np.broadcast_to(np.cross(U, V), (500, 3)), atol=1e-8)


def test_closest_point_on_a_flat_patch_is_the_clamped_projection():
    patch = flat_patch()
    n = unit(np.cross(U, V))
    u, v = RNG.uniform(-0.3, 1.3, 400), RNG.uniform(-0.3, 1.3, 400)
    height = RNG.uniform(-30, 30, 400)
    points = O + u[:, None] * U + v[:, None] * V + height[:, None] * n
    found_u, found_v = patch.closest_parameters(points)
    # U and V are not orthogonal, so the clamped projection is the constrained minimum, checked by brute force
    inside = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    np.testing.assert_allclose(found_u[inside], u[inside], atol=1e-9)
    np.testing.assert_allclose(found_v[inside], v[inside], atol=1e-9)
    grid = np.linspace(0, 1, 501)
    samples = patch.evaluate(*[a.ravel() for a in np.meshgrid(grid, grid, indexing="ij")])
    brute = cKDTree(samples).query(points[~inside])[0]
    exact = patch.distances(points[~inside])
    assert (exact <= brute + 1e-9).all() and (brute - exact).max() < 0.15  # sample step 0.16 mm along U
    offsets, _, _ = patch.signed_offsets(points[inside])
    np.testing.assert_allclose(offsets, height[inside], atol=1e-9)


def test_closest_point_on_a_curved_patch_beats_dense_sampling():
    points = np.array([[i * 30.0, j * 30.0, 20.0 * np.sin(i + 2 * j)] for i in range(4) for j in range(4)])
    patch = BezierPatch(points)
    queries = RNG.uniform([-10, -10, -30], [100, 100, 40], (300, 3))
    exact = patch.distances(queries)
    grid = np.linspace(0, 1, 301)
    samples = patch.evaluate(*[a.ravel() for a in np.meshgrid(grid, grid, indexing="ij")])
    brute = cKDTree(samples).query(queries)[0]
    assert (exact <= brute + 1e-9).all()
    assert (brute - exact).max() < 0.5  # the sampling step is about 0.3 mm
