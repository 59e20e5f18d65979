"""Where a new cut starts: a plane that separates the tumour-bearing part of the liver from the tumour-free part, and
a flat 4 x 4 patch on a plane, large enough to cut through the whole liver.

The plane's normal points from the tumour-free part to the tumour-bearing part: with the network's FLR, the normal of
the plane fitted to where the FLR meets the rest of the liver; else from the liver's centre to the tumours' centre;
else to the patient's right (a right hepatectomy). With an FLR it sits where it best separates the FLR from the rest
along that normal (fewest voxels on the wrong side), otherwise through the liver's centre (a plane through the
centroid always cuts the liver).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .plan import BezierCut, PlaneCut
from .voxel_box import VoxelBox

PATIENT_RIGHT_LPS = (-1.0, 0.0, 0.0)
PATCH_OVERHANG_MM = 10.0  # beyond the liver's outline on every side
SEPARATION_STEP_MM = 0.5


def centroid(box: VoxelBox, mask: np.ndarray) -> np.ndarray:
    """The LPS centre of the mask's voxel centres, from its three 1D profiles (no voxel list needed)."""
    total = mask.sum()
    mean = [(mask.sum(axis=tuple(a for a in range(3) if a != axis)) * np.arange(n)).sum() / total
            for axis, n in enumerate(mask.shape)]
    return box.points(*mean)[0]


def initial_plane(box: VoxelBox, liver: np.ndarray, crlm: np.ndarray, flr: np.ndarray | None,
                  name: str = "plane") -> PlaneCut:
    centre = centroid(box, liver)
    resected = None if flr is None else liver & ~flr
    has_flr = flr is not None and (flr & liver).any() and resected.any()
    if has_flr:
        normal = _separating_direction(box, resected, flr & liver)
    elif (crlm & liver).any():
        normal = centroid(box, crlm & liver) - centre
    else:
        normal = np.array(PATIENT_RIGHT_LPS)
    length = np.linalg.norm(normal)
    normal = np.array(PATIENT_RIGHT_LPS) if length < 1e-6 else normal / length
    origin = centre
    if has_flr:
        origin = centre + normal * _best_separation(box.linear_field(normal, centre), liver, resected)
    return PlaneCut(name, tuple(float(c) for c in origin), tuple(float(c) for c in normal))


def _separating_direction(box: VoxelBox, removed: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """The normal of the plane fitted (least squares) to where the two parts touch: the FLR voxels with a removed
    face neighbour. That interface is the network's cut surface, so the fit is the plane closest to it; without
    an interface, the direction between the parts' centres."""
    interface = kept & ndimage.binary_dilation(removed)
    difference = centroid(box, removed) - centroid(box, kept)
    if np.count_nonzero(interface) < 3:
        return difference
    points = box.flat_points(np.flatnonzero(interface))
    _, _, axes = np.linalg.svd(points - points.mean(axis=0), full_matrices=False)
    normal = axes[-1]
    return normal if normal @ difference >= 0 else -normal


def _best_separation(field: np.ndarray, liver: np.ndarray, resected: np.ndarray) -> float:
    """The offset t along the normal with the fewest FLR voxels beyond it plus resected voxels before it, kept
    inside the liver so that both sides hold liver voxels."""
    values, wanted = field[liver], resected[liver]
    edges = np.arange(values.min(), values.max() + SEPARATION_STEP_MM, SEPARATION_STEP_MM)
    flr_beyond = np.histogram(values[~wanted], edges)[0][::-1].cumsum()[::-1]  # FLR voxels above each lower edge
    resected_before = np.concatenate([[0], np.histogram(values[wanted], edges)[0].cumsum()[:-1]])
    errors = flr_beyond + resected_before
    best = int(np.argmin(errors[1:])) + 1 if len(errors) > 1 else 0  # never below every liver voxel
    return float(edges[best])


def initial_patch(box: VoxelBox, liver: np.ndarray, plane: PlaneCut, name: str = "curved") -> BezierCut:
    """A flat patch on the plane: P_ij = corner + (i / 3) width U + (j / 3) height V, with U x V the plane's normal,
    covering the liver's outline projected on the plane plus PATCH_OVERHANG_MM."""
    normal = plane.unit_normal
    up = np.array([0.0, 0.0, 1.0]) if abs(normal[2]) < 0.9 else np.array([0.0, 1.0, 0.0])
    v_axis = up - (up @ normal) * normal
    v_axis /= np.linalg.norm(v_axis)
    u_axis = np.cross(v_axis, normal)
    low, high = [], []
    for axis in (u_axis, v_axis):
        values = box.linear_field(axis, plane.origin)[liver]
        low.append(values.min() - PATCH_OVERHANG_MM)
        high.append(values.max() + PATCH_OVERHANG_MM)
    origin = np.asarray(plane.origin)
    points = [origin + (low[0] + i / 3 * (high[0] - low[0])) * u_axis + (low[1] + j / 3 * (high[1] - low[1])) * v_axis
              for i in range(4) for j in range(4)]
    return BezierCut(name, tuple(tuple(float(c) for c in p) for p in points))
