"""Analytic shapes on voxel grids for the resection tests: oblique anisotropic grids, spheres and ellipsoids by the
voxel-centre rule, voxel centres computed here independently of the engine, and the cap volumes they should have."""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.transform import Rotation

from FLRSegmentationLib.imaging.image_grid import ImageGrid
from FLRSegmentationLib.resection.plan import BezierCut


def grid(size=(60, 56, 40), spacing=(0.9, 1.3, 2.1), angles_deg=(17.0, -29.0, 41.0),
         origin=(-31.7, 12.3, 140.9)) -> ImageGrid:
    """An oblique (rotated by the x-y-z Euler angles), anisotropic grid; angles 0 give an axial one."""
    direction = Rotation.from_euler("xyz", angles_deg, degrees=True).as_matrix()
    return ImageGrid(tuple(size), tuple(spacing), tuple(origin), tuple(direction.ravel()))


def centres(g: ImageGrid) -> np.ndarray:
    """LPS centre of every voxel, (k, j, i, 3): origin + direction @ (index * spacing)."""
    k, j, i = np.meshgrid(*[np.arange(n) for n in g.shape], indexing="ij")
    index = np.stack([i, j, k], -1) * np.asarray(g.spacing)
    return np.asarray(g.origin) + index @ np.reshape(g.direction, (3, 3)).T


def grid_centre(g: ImageGrid) -> np.ndarray:
    return centres(g)[tuple(n // 2 for n in g.shape)]


def ellipsoid(points: np.ndarray, centre, axes, rotation=np.eye(3)) -> np.ndarray:
    """Voxel centres inside the ellipsoid with these semi-axes along the rotation's columns."""
    local = (points - np.asarray(centre)) @ np.asarray(rotation)
    return ((local / np.asarray(axes)) ** 2).sum(-1) <= 1.0


def ellipsoid_cap_ml(axes, rotation, normal, offset_mm: float) -> float:
    """Volume of the part of an ellipsoid (centred at 0) where normal . x > offset (normal of unit length): the
    unit sphere's cap after mapping x = rotation @ diag(axes) y."""
    m = np.diag(axes) @ np.asarray(rotation).T @ np.asarray(normal, float)
    h = 1.0 - offset_mm / np.linalg.norm(m)  # cap height on the unit sphere
    h = min(max(h, 0.0), 2.0)
    return float(np.prod(axes)) * math.pi * h * h * (3.0 - h) / 3.0 / 1000.0


def voxel_error_ml(g: ImageGrid, boundary_area_mm2: float) -> float:
    """The voxelisation error of a voxel-centre count: the boundary crosses about N = area / voxel^(2/3) voxels, each
    of which falls in or out by chance, so the count is off by about sqrt(N) voxels; this allows three times that."""
    voxel = float(np.prod(g.spacing))
    return 3.0 * math.sqrt(boundary_area_mm2 / voxel ** (2 / 3)) * voxel / 1000.0


def unit(vector) -> np.ndarray:
    vector = np.asarray(vector, float)
    return vector / np.linalg.norm(vector)


def flat_patch(origin, normal, half_width=80.0) -> BezierCut:
    """A flat 4 x 4 patch on the plane, its U x V along the normal, uneven in u so the parameterisation is not
    linear: the voxels must still be the plane's."""
    helper = np.eye(3)[np.argmin(np.abs(normal))]
    u_axis = unit(np.cross(helper, normal))
    v_axis = np.cross(normal, u_axis)
    steps_u = [-1.0, -0.2, 0.4, 1.0]
    points = [origin + half_width * (steps_u[i] * u_axis + (2 * j / 3 - 1) * v_axis) for i in range(4) for j in range(4)]
    return BezierCut("flat", tuple(map(tuple, points)))


def parabolic_cylinder(centre, rotation, curvature, half_length, half_width) -> BezierCut:
    """z' = curvature x'^2 in the frame (rotation's columns x', y', z') at centre, for |x'| <= half_length and
    |y'| <= half_width: in u the quadratic Bezier (-L, cL^2), (0, -cL^2), (L, cL^2) raised to degree 3, in v a line.
    Its normal dS/du x dS/dv is +z' at the vertex: the removed side is z' > curvature x'^2."""
    length, quad = half_length, curvature * half_length ** 2
    q0, q1, q2 = np.array([-length, quad]), np.array([0.0, -quad]), np.array([length, quad])
    cubic = [q0, (q0 + 2 * q1) / 3, (2 * q1 + q2) / 3, q2]
    points = [centre + rotation @ np.array([cubic[i][0], -half_width + 2 * half_width * j / 3, cubic[i][1]])
              for i in range(4) for j in range(4)]
    return BezierCut("curved", tuple(map(tuple, points)))
