"""The cut surfaces as triangle meshes with the distance to the nearest tumour at each vertex, and the legacy VTK file
Slicer loads as a model.

A patch is sampled on an even (u, v) grid. A plane is unbounded, so its mesh is the rectangle, in the plane, around
where the plane crosses the liver's convex hull. The file is ASCII legacy VTK PolyData in LPS with `SPACE=LPS` in its
header line, which is how Slicer's model reader tells LPS from RAS (vtkMRMLModelStorageNode); the point scalars are
DistanceToTumour (mm; NO_TUMOUR_DISTANCE_MM without tumours) and MarginBand (0: under 1 mm, 1: under 10 mm, 2: more).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from .plan import PlaneCut
from .tumours import margin_band
from .voxel_box import VoxelBox

PATCH_SAMPLES_PER_SIDE = 41
PLANE_STEP_MM = 2.0
PLANE_MAX_SAMPLES_PER_SIDE = 151
DISTANCE_ARRAY = "DistanceToTumour"
BAND_ARRAY = "MarginBand"


@dataclass(frozen=True)
class SurfaceMesh:
    name: str
    points: np.ndarray  # (n, 3) LPS mm
    triangles: np.ndarray  # (m, 3) point indices
    distance_mm: np.ndarray  # (n,) to the nearest tumour voxel centre

    @property
    def band(self) -> np.ndarray:
        return margin_band(self.distance_mm)


class LiverHull:
    """The convex hull of the liver's voxel centres, from the first and last liver voxel of each row (a hull vertex
    is extreme along every line through it, so it is one of them)."""

    def __init__(self, box: VoxelBox, liver: np.ndarray):
        rows = liver.any(axis=2)
        k, j = np.nonzero(rows)
        first = np.argmax(liver[k, j, :], axis=1)
        last = liver.shape[2] - 1 - np.argmax(liver[k, j, ::-1], axis=1)
        points = box.points(np.concatenate([k, k]), np.concatenate([j, j]), np.concatenate([first, last]))
        try:
            hull = ConvexHull(points)
            self.points = points[hull.vertices]
            remap = np.full(len(points), -1)
            remap[hull.vertices] = np.arange(len(hull.vertices))
            edges = remap[np.concatenate([hull.simplices[:, [0, 1]], hull.simplices[:, [1, 2]],
                                          hull.simplices[:, [0, 2]]])]
            self.edges = np.unique(np.sort(edges, axis=1), axis=0)
        except QhullError:  # a flat liver (one slice or row): its points are their own outline
            self.points, self.edges = points, np.empty((0, 2), int)

    def section(self, cut: PlaneCut) -> np.ndarray:
        """Where the plane crosses the hull's edges; all hull points when it crosses none."""
        normal = cut.unit_normal
        f = (self.points - np.asarray(cut.origin)) @ normal
        a, b = self.edges[:, 0], self.edges[:, 1]
        crossing = (f[a] > 0) != (f[b] > 0)
        if not crossing.any():
            return self.points
        a, b = a[crossing], b[crossing]
        t = (f[a] / (f[a] - f[b]))[:, None]
        return self.points[a] + t * (self.points[b] - self.points[a])


def grid_triangles(rows: int, columns: int) -> np.ndarray:
    """Two triangles per grid square, ordered so that their normals follow the surface's normal (u down, v across)."""
    index = np.arange(rows * columns).reshape(rows, columns)
    a, b = index[:-1, :-1].ravel(), index[1:, :-1].ravel()
    c, d = index[1:, 1:].ravel(), index[:-1, 1:].ravel()
    return np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])


def patch_points(cut) -> tuple[np.ndarray, np.ndarray]:
    points, _, _ = cut.patch.sample_grid(PATCH_SAMPLES_PER_SIDE)
    return points, grid_triangles(PATCH_SAMPLES_PER_SIDE, PATCH_SAMPLES_PER_SIDE)


def plane_points(cut: PlaneCut, hull: LiverHull) -> tuple[np.ndarray, np.ndarray]:
    """A grid on the plane over the rectangle (in-plane axes U, V with U x V = n) around the liver's section."""
    normal = cut.unit_normal
    helper = np.eye(3)[np.argmin(np.abs(normal))]
    u_axis = np.cross(helper, normal)
    u_axis /= np.linalg.norm(u_axis)
    v_axis = np.cross(normal, u_axis)
    origin = np.asarray(cut.origin)
    section = hull.section(cut) - origin
    low = np.array([(section @ u_axis).min(), (section @ v_axis).min()]) - PLANE_STEP_MM
    high = np.array([(section @ u_axis).max(), (section @ v_axis).max()]) + PLANE_STEP_MM
    counts = np.clip(np.ceil((high - low) / PLANE_STEP_MM).astype(int) + 1, 2, PLANE_MAX_SAMPLES_PER_SIDE)
    su, sv = np.meshgrid(np.linspace(low[0], high[0], counts[0]), np.linspace(low[1], high[1], counts[1]),
                         indexing="ij")
    points = origin + su.ravel()[:, None] * u_axis + sv.ravel()[:, None] * v_axis
    return points, grid_triangles(*counts)


def write_vtk(path, meshes: list[SurfaceMesh]) -> None:
    """All meshes in one ASCII legacy VTK PolyData file (LPS), with the two point scalars."""
    offsets = np.cumsum([0] + [len(m.points) for m in meshes])
    points = np.concatenate([m.points for m in meshes])
    triangles = np.concatenate([m.triangles + offset for m, offset in zip(meshes, offsets)])
    distance = np.concatenate([m.distance_mm for m in meshes])
    band = np.concatenate([m.band for m in meshes])
    names = ", ".join(m.name for m in meshes)
    lines = ["# vtk DataFile Version 3.0", f"FLR Segmentation resection surfaces ({_ascii(names)}) SPACE=LPS",
             "ASCII", "DATASET POLYDATA", f"POINTS {len(points)} double"]
    lines += [" ".join(repr(float(c)) for c in p) for p in points]
    lines.append(f"POLYGONS {len(triangles)} {4 * len(triangles)}")
    lines += [f"3 {a} {b} {c}" for a, b, c in triangles]
    lines += [f"POINT_DATA {len(points)}", f"SCALARS {DISTANCE_ARRAY} double 1", "LOOKUP_TABLE default"]
    lines += [repr(float(d)) for d in distance]
    lines += [f"SCALARS {BAND_ARRAY} int 1", "LOOKUP_TABLE default"]
    lines += [str(int(b)) for b in band]
    Path(path).write_text("\n".join(lines) + "\n")


def _ascii(text: str) -> str:
    """The header is one ASCII line of at most 256 characters."""
    return "".join(c if c.isascii() and c.isprintable() else "?" for c in text)[:180]
