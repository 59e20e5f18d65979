"""Which liver voxels a cut removes: those whose centre lies on the side its normal points to.

Plane: n . (x - origin) > 0. Bezier patch: the offset of the centre from its closest patch point (u, v clamped to the
patch), taken along the unit normal there, is > 0; on a flat patch that offset is the plane's, so it removes the
plane's voxels. A centre within ON_SURFACE_MM of the surface counts as on it and is kept, so that rounding can't move
a voxel that lies exactly on a plane.

The patch's closest points cost a Newton solve per point, so they are computed only where needed, coarse to fine:
the centre of a block of voxels decides the whole block when its offset exceeds DECISION_FACTOR x the block's
radius (the offset changes by at most the distance moved, to first order, so the block lies on one side), 3x where
the closest point is on the patch's border (the offset extends tangentially there and bends with the surface);
undecided blocks are split into small cells, and undecided cells into voxels. Only blocks and cells holding liver
voxels are looked at, and each level starts Newton from its parent's closest point.
"""

from __future__ import annotations

import numpy as np

from .bezier import BezierPatch
from .plan import PlaneCut
from .voxel_box import VoxelBox

ON_SURFACE_MM = 1e-9
DECISION_FACTOR = 1.5
BORDER_DECISION_FACTOR = 3.0
COARSE_BLOCK_MM = 6.0  # the coarse block's edge, about; powers of two of voxels per axis, at most 8
MAX_COARSE_VOXELS = 8
CELL_VOXELS = 2


def removed_by_plane(box: VoxelBox, liver: np.ndarray, cut: PlaneCut) -> np.ndarray:
    return liver & (box.linear_field(cut.unit_normal, cut.origin) > ON_SURFACE_MM)


def block_sizes(spacing_xyz) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(coarse, cell) sizes in voxels per (k, j, i) axis: coarse blocks of about COARSE_BLOCK_MM, cells of 2."""
    coarse = []
    for s in spacing_xyz[::-1]:
        size = 1
        while size * 2 <= MAX_COARSE_VOXELS and size * 2 * s <= COARSE_BLOCK_MM:
            size *= 2
        coarse.append(size)
    return tuple(coarse), tuple(min(CELL_VOXELS, c) for c in coarse)


def removed_by_patch(box: VoxelBox, liver: np.ndarray, patch: BezierPatch) -> np.ndarray:
    """Liver voxels (box (k, j, i) mask) on the patch's removed side; box.shape must be whole coarse blocks."""
    coarse, cell = block_sizes(box.spacing)
    per = tuple(c // s for c, s in zip(coarse, cell))  # cells per block, per axis
    blocks = tuple(n // c for n, c in zip(box.shape, coarse))
    nine = tuple(x for axis in range(3) for x in (blocks[axis], per[axis], cell[axis]))
    liver9 = liver.reshape(nine)
    cell_has_liver = liver9.any(axis=(2, 5, 8))  # (bk, pk, bj, pj, bi, pi)
    block_has_liver = cell_has_liver.any(axis=(1, 3, 5))
    removed = np.zeros(box.shape, bool)
    removed9 = removed.reshape(nine)

    # Coarse blocks: centres in voxel index units (k, j, i).
    bk, bj, bi = np.nonzero(block_has_liver)
    centre = [(b * c + (c - 1) / 2.0) for b, c in zip((bk, bj, bi), coarse)]
    side, u, v = _decide(box, patch, centre, coarse, None, None)
    sure = side != 0
    removed9[bk[sure & (side > 0)], :, :, bj[sure & (side > 0)], :, :, bi[sure & (side > 0)], :, :] = True

    # Cells of the undecided blocks.
    open_blocks = np.flatnonzero(~sure)
    grid = np.stack(np.meshgrid(*[np.arange(p) for p in per], indexing="ij"), -1).reshape(-1, 3)
    owner = np.repeat(open_blocks, len(grid))
    pk, pj, pi = (np.tile(grid[:, a], open_blocks.size) for a in range(3))
    ck, cj, ci = bk[owner], bj[owner], bi[owner]
    keep = cell_has_liver[ck, pk, cj, pj, ci, pi]
    owner, pk, pj, pi, ck, cj, ci = (a[keep] for a in (owner, pk, pj, pi, ck, cj, ci))
    centre = [(b * c + p * s + (s - 1) / 2.0) for b, p, c, s in zip((ck, cj, ci), (pk, pj, pi), coarse, cell)]
    side, cu, cv = _decide(box, patch, centre, cell, u[owner], v[owner])
    yes = side > 0
    removed9[ck[yes], pk[yes], :, cj[yes], pj[yes], :, ci[yes], pi[yes], :] = True

    # Voxels of the undecided cells: the exact test, on liver voxels only.
    open_cells = np.flatnonzero(side == 0)
    offsets = np.stack(np.meshgrid(*[np.arange(s) for s in cell], indexing="ij"), -1).reshape(-1, 3)
    which = np.repeat(open_cells, len(offsets))
    k = ck[which] * coarse[0] + pk[which] * cell[0] + np.tile(offsets[:, 0], open_cells.size)
    j = cj[which] * coarse[1] + pj[which] * cell[1] + np.tile(offsets[:, 1], open_cells.size)
    i = ci[which] * coarse[2] + pi[which] * cell[2] + np.tile(offsets[:, 2], open_cells.size)
    inside = liver[k, j, i]
    k, j, i, which = k[inside], j[inside], i[inside], which[inside]
    exact, _, _ = patch.signed_offsets(box.points(k, j, i), cu[which], cv[which])
    removed[k, j, i] = exact > ON_SURFACE_MM
    return removed & liver


def _decide(box: VoxelBox, patch: BezierPatch, centre, size, u0, v0):
    """Per cell: +1 removed, -1 kept, 0 undecided, from its centre's offset; and the centre's closest (u, v)."""
    offsets, u, v = patch.signed_offsets(box.points(*centre), u0, v0)
    radius = 0.5 * np.linalg.norm(box.axes @ (np.array(size[::-1], float) - 1.0))
    border = (u <= 0) | (u >= 1) | (v <= 0) | (v >= 1)
    limit = np.where(border, BORDER_DECISION_FACTOR, DECISION_FACTOR) * radius + ON_SURFACE_MM
    side = np.where(offsets > limit, 1, np.where(offsets < -limit, -1, 0)).astype(np.int8)
    return side, u, v
