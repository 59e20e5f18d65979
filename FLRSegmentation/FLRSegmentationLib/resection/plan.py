"""The resection plan file: named cut surfaces (planes and bicubic Bezier patches), read, checked and written.

```json
{"coordinate_system": "LPS",
 "resections": [{"name": "right", "type": "plane", "origin": [x, y, z], "normal": [nx, ny, nz]},
                {"name": "wedge", "type": "bezier", "control_points": [[x, y, z], ... 16 points]}]}
```
Coordinates are LPS (ITK, DICOM) or RAS (Slicer) millimetres; the plan holds them in LPS and writes either, by
negating x and y, which is exact, so a round trip gives the file back. A plane's normal and a patch's normal
dS/du x dS/dv point into the part that is removed. The normal is kept as written (its length does not matter).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..imaging.atomic_files import write_json_atomically
from .bezier import BezierPatch

COORDINATE_SYSTEMS = ("LPS", "RAS")
CONTROL_POINTS = 16
PLAN_KEYS = {"coordinate_system", "resections"}
RESECTION_KEYS = {"plane": {"name", "type", "origin", "normal"}, "bezier": {"name", "type", "control_points"}}
MIN_NORMAL_LENGTH = 1e-9


@dataclass(frozen=True)
class PlaneCut:
    name: str
    origin: tuple[float, float, float]  # LPS mm
    normal: tuple[float, float, float]  # LPS, towards the removed part, as written

    @property
    def unit_normal(self) -> np.ndarray:
        normal = np.asarray(self.normal, float)
        return normal / np.linalg.norm(normal)


@dataclass(frozen=True)
class BezierCut:
    name: str
    control_points: tuple[tuple[float, float, float], ...]  # 16 LPS points, P[i][j] at index 4 i + j

    @property
    def patch(self) -> BezierPatch:
        return BezierPatch(self.control_points)


@dataclass(frozen=True)
class ResectionPlan:
    resections: tuple[PlaneCut | BezierCut, ...]
    coordinate_system: str = "LPS"  # the file's, used again when the plan is written back

    def to_json(self, coordinate_system: str | None = None) -> dict:
        system = coordinate_system or self.coordinate_system
        flip = _flip(system)
        items = []
        for cut in self.resections:
            if isinstance(cut, PlaneCut):
                items.append({"name": cut.name, "type": "plane", "origin": list(flip(cut.origin)),
                              "normal": list(flip(cut.normal))})
            else:
                items.append({"name": cut.name, "type": "bezier",
                              "control_points": [list(flip(p)) for p in cut.control_points]})
        return {"coordinate_system": system, "resections": items}


def read_plan(path) -> ResectionPlan:
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"can't read plan {path}: {getattr(error, 'strerror', None) or error}") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise InputError(f"plan {path} is not JSON ({error}); write it as in README's plan format") from None
    return plan_from_json(data, f"plan {path}")


def write_plan(path, plan: ResectionPlan, coordinate_system: str | None = None) -> None:
    write_json_atomically(Path(path), plan.to_json(coordinate_system))


def plan_from_json(data, source: str = "plan") -> ResectionPlan:
    """A checked plan, or an InputError naming the resection and the field that is wrong."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a JSON object with 'coordinate_system' and 'resections'")
    _no_unknown_keys(data, PLAN_KEYS, source)
    system = data.get("coordinate_system")
    if system not in COORDINATE_SYSTEMS:
        raise InputError(f"{source}: 'coordinate_system' is {system!r}; use \"LPS\" (ITK, DICOM) or \"RAS\" (Slicer)")
    items = data.get("resections")
    if not isinstance(items, list) or not items:
        raise InputError(f"{source}: 'resections' must be a non-empty list of planes and Bezier surfaces")
    flip = _flip(system)
    cuts, names = [], set()
    for number, item in enumerate(items, 1):
        cut = _cut_from_json(item, f"{source}: resection {number}", flip)
        if cut.name in names:
            raise InputError(f"{source}: two resections are named '{cut.name}'; give each its own name")
        names.add(cut.name)
        cuts.append(cut)
    return ResectionPlan(tuple(cuts), system)


def _cut_from_json(item, where: str, flip) -> PlaneCut | BezierCut:
    if not isinstance(item, dict):
        raise InputError(f"{where} is not a JSON object")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{where} has no 'name' (a non-empty string)")
    where = f"{where} ('{name}')"
    kind = item.get("type")
    if kind not in RESECTION_KEYS:
        raise InputError(f"{where}: 'type' is {kind!r}; use \"plane\" or \"bezier\"")
    _no_unknown_keys(item, RESECTION_KEYS[kind], where)
    if kind == "plane":
        origin = _point(item.get("origin"), f"{where}: 'origin'")
        normal = _point(item.get("normal"), f"{where}: 'normal'")
        if math.sqrt(sum(c * c for c in normal)) < MIN_NORMAL_LENGTH:
            raise InputError(f"{where}: the normal has length 0; give the direction towards the removed part")
        return PlaneCut(name, flip(origin), flip(normal))
    points = item.get("control_points")
    if not isinstance(points, list) or len(points) != CONTROL_POINTS:
        count = len(points) if isinstance(points, list) else "no"
        raise InputError(f"{where}: 'control_points' holds {count} points; a bicubic patch needs 16 "
                         "(4 x 4, row-major P[i][j])")
    cut = BezierCut(name, tuple(flip(_point(p, f"{where}: control point {k + 1}")) for k, p in enumerate(points)))
    _check_patch(cut, where)
    return cut


def _check_patch(cut: BezierCut, where: str) -> None:
    """Refuse a patch whose normal vanishes everywhere on a grid: its control points (nearly) coincide or lie on
    one line, so it has no side."""
    patch = cut.patch
    t = np.linspace(0.05, 0.95, 7)
    u, v = (a.ravel() for a in np.meshgrid(t, t, indexing="ij"))
    extent = np.ptp(patch.points.reshape(-1, 3), axis=0).max()
    if extent == 0 or np.linalg.norm(patch.normal(u, v), axis=1).max() < 1e-9 * extent ** 2:
        raise InputError(f"{where}: the control points span no surface (they coincide or lie on a line)")


def _point(value, where: str) -> tuple[float, float, float]:
    if not isinstance(value, list) or len(value) != 3 or \
            not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in value):
        raise InputError(f"{where} must be 3 numbers [x, y, z]")
    if not all(math.isfinite(c) for c in value):
        raise InputError(f"{where} holds {value}: NaN or infinite coordinates; give finite millimetres")
    return tuple(float(c) for c in value)


def _no_unknown_keys(data: dict, known: set, where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; expected "
                         f"{', '.join(sorted(known))}")


def _flip(system: str):
    """LPS <-> RAS for one point: negate x and y (its own inverse); the identity for LPS."""
    if system == "LPS":
        return lambda p: tuple(float(c) for c in p)
    return lambda p: (-float(p[0]) + 0.0, -float(p[1]) + 0.0, float(p[2]))  # + 0.0: no -0.0 in the file
