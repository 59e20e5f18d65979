"""Bicubic Bezier patches: S(u, v) = sum_ij B_i(u) B_j(v) P_ij for u, v in [0, 1], with the cubic Bernstein
polynomials B_i, control points P[i][j] (i along u, j along v), the normal dS/du x dS/dv, and the closest point of
the patch to many points at once.

The closest point minimises the squared distance by Newton's method, vectorised over the points, from the nearest
point of a sampled grid of the patch. u and v stay clamped to the patch: a parameter at its bound whose gradient
points out of the patch is held (projected Newton), and a large step that does not reduce the distance is halved.
Where the Hessian is not positive definite (far from a curved patch) the Gauss-Newton matrix J^T J replaces it.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

SAMPLES_PER_SIDE = 17  # the initial-guess grid: 17 x 17 points
DENSE_SAMPLES_PER_SIDE = 81  # for distance bounds, after the initial-guess grid
MAX_ITERATIONS = 40
STEP_TOLERANCE = 1e-9  # in u, v: a micrometre on a patch a metre wide; the next Newton step would be ~1e-18
CHECKED_STEP = 1e-3  # larger steps are checked to reduce the distance (far from the solution Newton can overshoot)
MAX_HALVINGS = 6


def bernstein(t: np.ndarray, derivative: int = 0) -> np.ndarray:
    """The four cubic Bernstein polynomials (or their first or second derivatives) at t, shape (n, 4)."""
    t = np.asarray(t, float)[:, None]
    s = 1.0 - t
    if derivative == 0:
        return np.hstack([s ** 3, 3 * t * s ** 2, 3 * t ** 2 * s, t ** 3])
    if derivative == 1:
        return np.hstack([-3 * s ** 2, 3 * s ** 2 - 6 * t * s, 6 * t * s - 3 * t ** 2, 3 * t ** 2])
    return np.hstack([6 * s, 18 * t - 12, 6 - 18 * t, 6 * t])


class BezierPatch:
    """A bicubic patch from 16 control points in row-major order P[i][j], i along u and j along v."""

    def __init__(self, control_points):
        self.points = np.asarray(control_points, float).reshape(4, 4, 3)
        self._flat = self.points.reshape(4, 12)
        self._samples = {}

    def _rows(self, basis_u: np.ndarray) -> np.ndarray:
        """sum_i B_i(u) P_ij for each point and j: shape (n, 4, 3). Four multiply-adds rather than a matrix
        product: BLAS threads cost more than they give on (n, 4) x (4, 12), and fight other processes."""
        rows = basis_u[:, 0, None] * self._flat[0]
        for i in range(1, 4):
            rows += basis_u[:, i, None] * self._flat[i]
        return rows.reshape(-1, 4, 3)

    @staticmethod
    def _contract(basis_v: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.einsum("nj,njc->nc", basis_v, rows)

    def evaluate(self, u, v) -> np.ndarray:
        """S(u, v) for arrays u, v: shape (n, 3)."""
        return self._contract(bernstein(np.ravel(v)), self._rows(bernstein(np.ravel(u))))

    def derivatives(self, u, v) -> tuple[np.ndarray, ...]:
        """S, dS/du, dS/dv, d2S/du2, d2S/dudv, d2S/dv2 at (u, v), each (n, 3)."""
        rows = [self._rows(bernstein(u, d)) for d in range(3)]
        bv = [bernstein(v, d) for d in range(3)]
        c = self._contract
        return c(bv[0], rows[0]), c(bv[0], rows[1]), c(bv[1], rows[0]), c(bv[0], rows[2]), c(bv[1], rows[1]), \
            c(bv[2], rows[0])

    def normal(self, u, v) -> np.ndarray:
        """dS/du x dS/dv (not normalised): it points into the part the patch removes."""
        _, su, sv, *_ = self.derivatives(np.ravel(u), np.ravel(v))
        return np.cross(su, sv)

    def sample_grid(self, per_side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Points of an even per_side x per_side grid in (u, v), with their u and v (u slowest)."""
        t = np.linspace(0.0, 1.0, per_side)
        u, v = (a.ravel() for a in np.meshgrid(t, t, indexing="ij"))
        return self.evaluate(u, v), u, v

    def closest_parameters(self, points: np.ndarray, u0=None, v0=None) -> tuple[np.ndarray, np.ndarray]:
        """(u, v) of the closest patch point to each point (n, 3); from u0, v0 when given, else the nearest sample."""
        points = np.asarray(points, float).reshape(-1, 3)
        if u0 is None:
            u, v = self._nearest_sample(points)
        else:
            u, v = np.array(u0, float), np.array(v0, float)
        todo = np.arange(len(points))
        for _ in range(MAX_ITERATIONS):
            if todo.size == 0:
                break
            nu, nv, moved = self._newton_step(points[todo], u[todo], v[todo])
            u[todo], v[todo] = nu, nv
            todo = todo[moved > STEP_TOLERANCE]
        return u, v

    def signed_offsets(self, points: np.ndarray, u0=None, v0=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The offset of each point from its closest patch point, along the unit normal there (> 0: removed side),
        and the closest point's u and v."""
        points = np.asarray(points, float).reshape(-1, 3)
        u, v = self.closest_parameters(points, u0, v0)
        s, su, sv, *_ = self.derivatives(u, v)
        normal = np.cross(su, sv)
        length = np.linalg.norm(normal, axis=1)
        offsets = np.einsum("nc,nc->n", points - s, normal) / np.where(length > 0, length, 1.0)
        return offsets, u, v

    def distances(self, points: np.ndarray, u0=None, v0=None) -> np.ndarray:
        """Euclidean distance from each point to the patch (u, v clamped to [0, 1])."""
        points = np.asarray(points, float).reshape(-1, 3)
        u, v = self.closest_parameters(points, u0, v0)
        return np.linalg.norm(points - self.evaluate(u, v), axis=1)

    def samples(self, per_side: int = SAMPLES_PER_SIDE):
        """A tree of per_side^2 patch points on an even (u, v) grid, their u and v, and a bound on how much farther
        the nearest sample can be than the patch itself: every patch point is within half a grid cell (in u and in
        v) of a sample, and |dS/du| <= 3 max |P_i+1,j - P_ij| (the derivative's control points are those
        differences times 3, and a Bezier patch lies in the hull of its control points); likewise for v."""
        if per_side not in self._samples:
            points, u, v = self.sample_grid(per_side)
            du = np.linalg.norm(np.diff(self.points, axis=0), axis=-1).max()
            dv = np.linalg.norm(np.diff(self.points, axis=1), axis=-1).max()
            self._samples[per_side] = (cKDTree(points), u, v, 1.5 * (du + dv) / (per_side - 1))
        return self._samples[per_side]

    def _nearest_sample(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tree, su, sv, _ = self.samples()
        _, nearest = tree.query(points)
        return su[nearest].copy(), sv[nearest].copy()

    def _newton_step(self, x: np.ndarray, u: np.ndarray, v: np.ndarray):
        """One projected, damped Newton step on 0.5 |S(u, v) - x|^2; returns the new u, v and how far they moved."""
        s, su, sv, suu, suv, svv = self.derivatives(u, v)
        r = s - x
        dot = lambda a, b: np.einsum("nc,nc->n", a, b)  # noqa: E731
        gu, gv = dot(r, su), dot(r, sv)
        juu, juv, jvv = dot(su, su), dot(su, sv), dot(sv, sv)
        huu, huv, hvv = juu + dot(r, suu), juv + dot(r, suv), jvv + dot(r, svv)
        indefinite = (huu <= 0) | (huu * hvv - huv ** 2 <= 1e-12 * (juu * jvv + 1e-300))
        huu, huv, hvv = (np.where(indefinite, j, h) for j, h in ((juu, huu), (juv, huv), (jvv, hvv)))
        hold_u = ((u <= 0) & (gu > 0)) | ((u >= 1) & (gu < 0))
        hold_v = ((v <= 0) & (gv > 0)) | ((v >= 1) & (gv < 0))
        det = huu * hvv - huv ** 2
        safe = np.where(det > 0, det, 1.0)
        du = np.where(det > 0, -(hvv * gu - huv * gv) / safe, 0.0)
        dv = np.where(det > 0, -(huu * gv - huv * gu) / safe, 0.0)
        du = np.where(hold_v & ~hold_u, -gu / np.where(huu > 0, huu, 1.0), du)
        dv = np.where(hold_u & ~hold_v, -gv / np.where(hvv > 0, hvv, 1.0), dv)
        du, dv = np.where(hold_u, 0.0, du), np.where(hold_v, 0.0, dv)
        nu, nv = np.clip(u + du, 0, 1), np.clip(v + dv, 0, 1)
        big = np.flatnonzero(np.abs(du) + np.abs(dv) > CHECKED_STEP)  # small Newton steps need no check
        if big.size:
            nu[big], nv[big] = self._damped(x[big], u[big], v[big], du[big], dv[big], dot(r[big], r[big]))
        return nu, nv, np.abs(nu - u) + np.abs(nv - v)

    def _damped(self, x, u, v, du, dv, start):
        """The step, halved until the distance does not grow (at most MAX_HALVINGS times, else no step)."""
        scale = np.ones_like(u)
        for _ in range(MAX_HALVINGS):
            nu, nv = np.clip(u + scale * du, 0, 1), np.clip(v + scale * dv, 0, 1)
            rn = self.evaluate(nu, nv) - x
            worse = np.einsum("nc,nc->n", rn, rn) > start
            if not worse.any():
                return nu, nv
            scale = np.where(worse, scale / 2, scale)
        return np.where(worse, u, nu), np.where(worse, v, nv)
