"""Deterministic synthetic abdominal CT phantoms with exact Liver / CRLM / FLR labels.

The anatomy is defined as continuous shapes in patient LPS millimetres and then sampled on any grid, so one
phantom can be rendered at any spacing, size and orientation (oblique included) with labels that agree exactly.

The phantom mimics a portal-venous CT planned for a right hepatectomy: a liver (about 110 HU) with a bright middle
hepatic vein marking Cantlie's plane, hypodense metastases (about 50 HU) only on the right (resected) side, and the
future liver remnant (FLR) = the tumour-free liver on the patient's left of that plane. Distractors with liver-like
intensity (spleen, kidneys, vessels) keep the liver stage honest. Not anatomy: a test object.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from ..vocabulary.labels import LABEL_CRLM, LABEL_FLR, LABEL_LIVER


@dataclass(frozen=True)
class Ellipsoid:
    center: tuple[float, float, float]
    axes: tuple[float, float, float]

    def contains(self, p: np.ndarray) -> np.ndarray:
        q = (p - np.asarray(self.center, np.float32)) / np.asarray(self.axes, np.float32)
        return (q * q).sum(-1) <= 1.0


@dataclass(frozen=True)
class Tube:
    """A cylinder of `radius` around the line through `point` along `direction`."""

    point: tuple[float, float, float]
    direction: tuple[float, float, float]
    radius: float

    def contains(self, p: np.ndarray) -> np.ndarray:
        d = np.asarray(self.direction, np.float32)
        d = d / np.linalg.norm(d)
        v = p - np.asarray(self.point, np.float32)
        along = v @ d
        perp = v - along[..., None] * d
        return (perp * perp).sum(-1) <= self.radius ** 2


@dataclass(frozen=True)
class Anatomy:
    body: tuple[float, float]  # semi-axes of the elliptic body cross-section (x, y), mm
    liver_lobes: tuple[Ellipsoid, ...]
    plane_point: tuple[float, float, float]  # Cantlie's plane: FLR is where (p - point) . normal > 0
    plane_normal: tuple[float, float, float]
    hepatic_vein: Tube
    tumours: tuple[Ellipsoid, ...]
    distractors: tuple[tuple[Ellipsoid | Tube, float], ...]  # (shape, HU)
    liver_hu: float
    tumour_hu: float
    vein_hu: float
    noise_sd: float
    center: tuple[float, float, float] = field(default=(0.0, 0.0, 0.0))


@dataclass(frozen=True)
class Grid:
    """A voxel grid in ITK terms: size and spacing in (x, y, z) index order, direction columns = index axes."""

    size: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]  # row-major 3x3

    def world_points(self, z_slice: slice) -> np.ndarray:
        """World coordinates (mm) of the voxel centres of slices z_slice, shape (nz, ny, nx, 3)."""
        nx, ny, _ = self.size
        k = np.arange(z_slice.start, z_slice.stop, dtype=np.float32)
        j = np.arange(ny, dtype=np.float32)
        i = np.arange(nx, dtype=np.float32)
        idx = np.stack(np.meshgrid(k, j, i, indexing="ij")[::-1], -1)  # (..., [i, j, k])
        d = np.asarray(self.direction, np.float32).reshape(3, 3)
        return np.asarray(self.origin, np.float32) + (idx * np.asarray(self.spacing, np.float32)) @ d.T


def sample_anatomy(rng: np.random.Generator) -> Anatomy:
    """Draw one patient's anatomy; every size is jittered so no two phantoms are alike."""
    j = lambda scale: float(rng.uniform(-scale, scale))  # noqa: E731 - a jitter helper reads best inline
    right = Ellipsoid((-55 + j(8), -5 + j(8), j(10)), (68 + j(8), 78 + j(8), 72 + j(8)))
    left = Ellipsoid((15 + j(8), -40 + j(6), 22 + j(8)), (62 + j(8), 34 + j(5), 42 + j(6)))
    normal = np.array([1.0, j(0.2), j(0.15)])
    normal /= np.linalg.norm(normal)
    plane_point = (-12 + j(6), -10.0, 0.0)
    vein = Tube(plane_point, (0.0, 0.35 + j(0.15), 1.0), 4.5 + j(1.0))
    tumours = []
    wanted = int(rng.integers(1, 4))
    for _ in range(200):
        if len(tumours) == wanted:
            break
        r = float(rng.uniform(18, 30))
        c = np.array(right.center) + rng.uniform(-1, 1, 3) * (np.array(right.axes) - r - 6)
        if not Ellipsoid(right.center, tuple(np.array(right.axes) - r - 4)).contains(c[None])[0]:
            continue
        if (c - plane_point) @ normal > -(r + 10):
            continue
        tumours.append(Ellipsoid(tuple(c), (r * (1 + j(0.15)), r * (1 + j(0.15)), r * (1 + j(0.15)))))
    distractors = (
        (Ellipsoid((95 + j(6), 45 + j(6), 25 + j(10)), (32, 48, 52)), 112 + j(6)),  # spleen, liver-like
        (Ellipsoid((-72, 62, -80 + j(10)), (26, 30, 46)), 165 + j(10)),  # right kidney
        (Ellipsoid((72, 62, -70 + j(10)), (26, 30, 46)), 165 + j(10)),  # left kidney
        (Tube((10, 40, 0), (0, 0, 1), 11), 170 + j(10)),  # aorta
        (Tube((-25, 35, 0), (0, 0.05, 1), 12), 140 + j(10)),  # inferior vena cava
        (Ellipsoid((0, 70, 0), (20, 17, 400)), 480 + j(40)),  # vertebral column
        (Ellipsoid((55, -45, 60 + j(10)), (30, 22, 25)), -850.0),  # gas in the stomach
    )
    return Anatomy(
        body=(165 + j(12), 120 + j(10)), liver_lobes=(right, left), plane_point=plane_point,
        plane_normal=tuple(normal), hepatic_vein=vein, tumours=tuple(tumours), distractors=distractors,
        liver_hu=110 + j(12), tumour_hu=48 + j(10), vein_hu=185 + j(15), noise_sd=14 + j(4),
    )


def random_direction(rng: np.random.Generator, max_oblique_deg: float) -> np.ndarray:
    """A random acquisition orientation: an axis permutation with flips, then a small oblique tilt."""
    perm = rng.permutation(3) if rng.random() < 0.3 else np.arange(3)
    base = np.eye(3)[:, perm] * rng.choice([-1.0, 1.0], 3)
    angles = np.deg2rad(rng.uniform(-max_oblique_deg, max_oblique_deg, 3))
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx @ base


def centered_grid(size, spacing, direction, center=(0.0, 0.0, 0.0)) -> Grid:
    d = np.asarray(direction, float).reshape(3, 3)
    half = (np.asarray(size) - 1) * np.asarray(spacing) / 2.0
    origin = np.asarray(center) + 0.0 - d @ half
    return Grid(tuple(int(s) for s in size), tuple(float(s) for s in spacing), tuple(origin), tuple(d.ravel()))


def random_grid(rng: np.random.Generator, base_spacing: float = 5.0, max_oblique_deg: float = 10.0) -> Grid:
    """A grid covering the abdomen (about 330 x 330 x 210 mm) with jittered spacing and random orientation."""
    direction = random_direction(rng, max_oblique_deg)
    world_fov = np.array([330.0, 330.0, 210.0])
    spacing_world = base_spacing * rng.uniform(0.85, 1.15, 3)
    spacing_world[2] *= rng.uniform(1.0, 1.2)
    # express the field of view along each index axis: index axis k points mostly along world axis argmax|d_k|
    world_axis = np.abs(direction).argmax(0)
    spacing = spacing_world[world_axis]
    size = np.ceil(world_fov[world_axis] / spacing).astype(int)
    return centered_grid(size, spacing, direction)


def render(anatomy: Anatomy, grid: Grid, rng: np.random.Generator) -> tuple[sitk.Image, sitk.Image]:
    """Sample the anatomy on the grid: an int16 CT image and a label map (1 liver, 2 CRLM, 3 FLR)."""
    nx, ny, nz = grid.size
    ct = np.empty((nz, ny, nx), np.float32)
    labels = np.zeros((nz, ny, nx), np.uint8)
    step = max(1, 4_000_000 // (nx * ny))
    normal = np.asarray(anatomy.plane_normal, np.float32)
    for z0 in range(0, nz, step):
        zs = slice(z0, min(nz, z0 + step))
        p = grid.world_points(zs)
        bx, by = anatomy.body
        r2 = (p[..., 0] / bx) ** 2 + (p[..., 1] / by) ** 2
        hu = np.where(r2 <= 1.0, np.where(r2 > 0.82, -90.0, 35.0), -1000.0).astype(np.float32)
        for shape, value in anatomy.distractors:
            hu[shape.contains(p) & (r2 <= 0.8)] = value
        liver = np.zeros(p.shape[:-1], bool)
        for lobe in anatomy.liver_lobes:
            liver |= lobe.contains(p)
        liver &= r2 <= 0.8
        tumour = np.zeros_like(liver)
        for t in anatomy.tumours:
            tumour |= t.contains(p)
        tumour &= liver
        flr = liver & (((p - np.asarray(anatomy.plane_point, np.float32)) @ normal) > 0) & ~tumour
        hu[liver] = anatomy.liver_hu
        hu[liver & anatomy.hepatic_vein.contains(p)] = anatomy.vein_hu
        hu[tumour] = anatomy.tumour_hu
        ct[zs] = hu
        lab = labels[zs]
        lab[liver] = LABEL_LIVER
        lab[tumour] = LABEL_CRLM
        lab[flr] = LABEL_FLR
    ct = ndimage.gaussian_filter(ct, 0.6, mode="nearest")
    ct += rng.normal(0.0, anatomy.noise_sd, ct.shape).astype(np.float32)
    ct_img = sitk.GetImageFromArray(np.clip(np.rint(ct), -1024, 3071).astype(np.int16))
    lab_img = sitk.GetImageFromArray(labels)
    for img in (ct_img, lab_img):
        img.SetSpacing(grid.spacing)
        img.SetOrigin(grid.origin)
        img.SetDirection(grid.direction)
    return ct_img, lab_img


def make_phantom(seed: int, grid: Grid | None = None, base_spacing: float = 5.0,
                 max_oblique_deg: float = 10.0) -> tuple[sitk.Image, sitk.Image]:
    """The phantom of `seed`: the same seed always gives the same anatomy, grid (unless given) and noise."""
    rng = np.random.default_rng(seed)
    anatomy = sample_anatomy(rng)
    if grid is None:
        grid = random_grid(rng, base_spacing, max_oblique_deg)
    return render(anatomy, grid, rng)


def clinical_grid(size=(512, 512, 150), spacing=(0.8, 0.8, 2.5)) -> Grid:
    """An axial grid of clinical proportions (LPS, no tilt) centred on the abdomen."""
    return centered_grid(size, spacing, np.eye(3))
