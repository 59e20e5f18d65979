"""The tumours (the CRLM's 26-connected components) and, for a plan, each one's side and margin.

Side: "resected" when every voxel centre lies on a removed side, "remnant" when none does, "cut" otherwise.
Margin: the smallest distance in mm from the centre of any of the tumour's voxels to a cut surface of the plan
(the nearest of them when there are several; a plane counts as unbounded, a patch as clamped to u, v in [0, 1]);
0 for a cut tumour. The thresholds are the CRLM margins of docs/CLINICAL.md section 8: under 1 mm is an R1 risk, 10 mm
the traditional target. What is computed once per segmentation (components, voxel centres, the tree of centres for
distances to the nearest tumour) is kept between drags.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from ..volumetry.segmentation_volumes import LESION_CONNECTIVITY
from ..volumetry.volumes import voxel_volume_ml
from .bezier import DENSE_SAMPLES_PER_SIDE, SAMPLES_PER_SIDE
from .plan import PlaneCut
from .voxel_box import VoxelBox

R0_MARGIN_MM = 1.0
TARGET_MARGIN_MM = 10.0
RESECTED, REMNANT, CUT = "resected", "remnant", "cut"
FLAG_CUT = "cut by the surface"
FLAG_BELOW_R0 = f"margin under {R0_MARGIN_MM:g} mm"
FLAG_BELOW_TARGET = f"margin under {TARGET_MARGIN_MM:g} mm"
FLAG_IN_REMNANT = "left in the remnant"
NO_TUMOUR_DISTANCE_MM = -1.0  # the surface's distance scalar when the segmentation has no CRLM


class Tumours:
    def __init__(self, crlm: np.ndarray, box: VoxelBox):
        """crlm: the box's CRLM-inside-liver mask (k, j, i)."""
        labels, count = ndimage.label(crlm, structure=LESION_CONNECTIVITY)
        flat = np.flatnonzero(labels)
        order = np.argsort(labels.ravel()[flat], kind="stable")
        self.flat = flat[order]
        self.count = count
        sizes = np.bincount(labels.ravel()[self.flat], minlength=count + 1)[1:]
        self.starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        self.volumes_ml = sizes * voxel_volume_ml(box.spacing)
        self.points = box.flat_points(self.flat)
        self.owner = np.repeat(np.arange(count), sizes)
        self.voxel_diagonal_mm = float(np.linalg.norm(box.spacing))
        boundary = crlm & ~ndimage.binary_erosion(crlm)  # 6-connected erosion: the voxels with an outside face
        self.on_boundary = boundary.ravel()[self.flat]
        # The nearest tumour voxel centre to a point farther than a voxel from it is a boundary voxel (a step
        # towards the point would otherwise stay in the tumour and come closer), so most queries use the small tree.
        self.boundary_tree = cKDTree(self.points[self.on_boundary]) if count else None
        self.tree = cKDTree(self.points) if count else None

    def distance_to_nearest(self, points: np.ndarray) -> np.ndarray:
        """From each point to the nearest tumour voxel centre, mm (NO_TUMOUR_DISTANCE_MM without tumours)."""
        if self.tree is None:
            return np.full(len(points), NO_TUMOUR_DISTANCE_MM)
        distance = self.boundary_tree.query(points)[0]
        near = distance < self.voxel_diagonal_mm
        if near.any():
            distance[near] = self.tree.query(points[near])[0]
        return distance

    def assess(self, removed: np.ndarray, cuts) -> list[dict]:
        """Per tumour: id (1-based, in scan order), volume_ml, side, margin_mm and flags, for this plan."""
        if not self.count:
            return []
        taken = np.add.reduceat(removed.ravel()[self.flat].astype(np.intp), self.starts)
        sizes = np.diff(np.append(self.starts, len(self.flat)))
        margins = np.min([self._distances(cut) for cut in cuts], axis=0)
        rows = []
        for index in range(self.count):
            side = RESECTED if taken[index] == sizes[index] else REMNANT if taken[index] == 0 else CUT
            margin = 0.0 if side == CUT else float(margins[index])
            rows.append({"id": index + 1, "volume_ml": round(float(self.volumes_ml[index]), 3), "side": side,
                         "margin_mm": round(margin, 2), "flags": flags(side, margin)})
        return rows

    def _distances(self, cut) -> np.ndarray:
        """Per tumour, the smallest voxel-centre distance to the cut's surface."""
        if isinstance(cut, PlaneCut):
            each = np.abs((self.points - np.asarray(cut.origin)) @ cut.unit_normal)
            return np.minimum.reduceat(each, self.starts)
        # The nearest centre to a surface that does not pass through the tumour is on its boundary; a surface
        # threading between centres can be nearer an inner one, so a tumour that close gets all its voxels checked.
        edge = np.flatnonzero(self.on_boundary)
        best = self._patch_minimum(cut.patch, edge)
        near = np.flatnonzero(np.isin(self.owner, np.flatnonzero(best < self.voxel_diagonal_mm)) & ~self.on_boundary)
        return np.minimum(best, self._patch_minimum(cut.patch, near)) if near.size else best

    def _patch_minimum(self, patch, voxels: np.ndarray) -> np.ndarray:
        """Per tumour, the smallest exact distance from these voxels to the patch. The distance to the nearest patch
        sample is at most `error` above the true one, so a voxel whose sampled distance exceeds its tumour's best
        sampled distance by more than `error` can't be the nearest: a coarse then a dense sample grid leave few
        voxels for the exact closest point."""
        upper = np.full(self.count, np.inf)
        for per_side in (SAMPLES_PER_SIDE, DENSE_SAMPLES_PER_SIDE):
            tree, su, sv, error = patch.samples(per_side)
            sampled, nearest = tree.query(self.points[voxels])
            owner = self.owner[voxels]
            np.minimum.at(upper, owner, sampled)
            close = sampled - error <= upper[owner]
            voxels, nearest = voxels[close], nearest[close]
        best = np.full(self.count, np.inf)
        np.minimum.at(best, self.owner[voxels], patch.distances(self.points[voxels], su[nearest], sv[nearest]))
        return best


def flags(side: str, margin_mm: float) -> list[str]:
    """What a surgeon should look at: a tumour left behind or cut, and margins under 1 mm and under 10 mm."""
    if side == REMNANT:
        return [FLAG_IN_REMNANT]
    found = [FLAG_CUT] if side == CUT else []
    if margin_mm < R0_MARGIN_MM:
        found.append(FLAG_BELOW_R0)
    if margin_mm < TARGET_MARGIN_MM:
        found.append(FLAG_BELOW_TARGET)
    return found


def margin_band(distance_mm: np.ndarray) -> np.ndarray:
    """0: under 1 mm, 1: 1 to under 10 mm, 2: 10 mm or more (or no tumour): the surface's colour bands."""
    distance_mm = np.asarray(distance_mm, float)
    band = np.where(distance_mm < R0_MARGIN_MM, 0, np.where(distance_mm < TARGET_MARGIN_MM, 1, 2))
    return np.where(distance_mm == NO_TUMOUR_DISTANCE_MM, 2, band).astype(np.int32)
