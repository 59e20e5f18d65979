"""One segmentation, many plans: the removed and remnant liver, the planned FLR's volumetry and the tumours' margins.

Built once per segmentation (the liver's box, the tumours, the liver's hull); each evaluate() then costs only the
side tests of the plan's surfaces inside the box, so a plan can follow a drag in the Slicer module. The volumetry
is the engine's: measure_masks on the planned FLR (the remnant without CRLM) and assess(), so the verdicts and
safety rules are those of `flrseg volumetry`. Every liver voxel is removed or kept: removed + remnant = liver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..imaging.image_grid import ImageGrid
from ..volumetry.flr_assessment import AssessmentOptions, assess
from ..volumetry.volumes import measure_masks, voxel_volume_ml
from .placement import initial_patch, initial_plane
from .plan import PlaneCut, ResectionPlan
from .sides import block_sizes, removed_by_patch, removed_by_plane
from .surface_mesh import LiverHull, SurfaceMesh, patch_points, plane_points
from .tumours import R0_MARGIN_MM, TARGET_MARGIN_MM, Tumours
from .voxel_box import VoxelBox

MARGIN_REFERENCE = ("CRLM margins: R0 needs at least 1 mm (Poultsides GA, Schulick RD, Pawlik TM, HPB 2010;12:43-49, "
                    "PMC2814403; a >= 1 mm margin is the standard, J Gastrointest Surg 2018, "
                    "doi:10.1007/s11605-018-3820-z); 10 mm is the traditional '1-cm rule' (Poultsides et al.)")
MARGIN_RULE = (f"smallest distance from a tumour voxel centre to the nearest cut surface; flags under "
               f"{R0_MARGIN_MM:g} mm and under {TARGET_MARGIN_MM:g} mm; 0 for a cut tumour. Between voxel centres, so "
               "never below the distance from the tumour's true edge and at most margin_resolution_mm (the voxel "
               "diagonal) above it")


@dataclass(frozen=True)
class PlanResult:
    removed: np.ndarray  # box mask (k, j, i): liver voxels any cut removes
    result: dict  # the assessment plus remnant_ml, resected_ml, resections, tumours


class ResectionPlanner:
    def __init__(self, liver: np.ndarray, crlm: np.ndarray, grid: ImageGrid, flr: np.ndarray | None = None):
        """Masks (k, j, i) on the grid; CRLM and FLR count only inside the liver."""
        self.grid = grid
        self.box = VoxelBox.around(liver, grid, block_sizes(grid.spacing)[0])
        self.liver = self.box.crop(liver)
        self.crlm = self.box.crop(crlm) & self.liver
        self.flr = None if flr is None else self.box.crop(flr) & self.liver
        self.tumours = Tumours(self.crlm, self.box)
        self.hull = LiverHull(self.box, self.liver)
        self.liver_voxels = int(np.count_nonzero(self.liver))

    def initial_plan(self, kind: str = "plane") -> ResectionPlan:
        """A first plane (kind "plane") or flat patch on it ("bezier") from the initial placement."""
        plane = initial_plane(self.box, self.liver, self.crlm, self.flr)
        cut = plane if kind == "plane" else initial_patch(self.box, self.liver, plane)
        return ResectionPlan((cut,))

    def removed_by(self, cut) -> np.ndarray:
        """The box's liver voxels this one cut removes; a cut that misses the liver is an InputError."""
        if isinstance(cut, PlaneCut):
            removed = removed_by_plane(self.box, self.liver, cut)
        else:
            removed = removed_by_patch(self.box, self.liver, cut.patch)
        count = int(np.count_nonzero(removed))
        kind = "plane" if isinstance(cut, PlaneCut) else "surface"
        if count == 0:
            raise InputError(f"resection '{cut.name}': the {kind} misses the liver (every liver voxel is on its kept "
                             "side); move it into the liver or turn its normal towards the part to remove")
        if count == self.liver_voxels:
            raise InputError(f"resection '{cut.name}': the {kind} misses the liver (every liver voxel is on its "
                             "removed side); move it into the liver or turn its normal away from the remnant")
        return removed

    def evaluate(self, plan: ResectionPlan, options: AssessmentOptions = AssessmentOptions()) -> PlanResult:
        removed = np.zeros(self.box.shape, bool)
        voxel_ml = voxel_volume_ml(self.grid.spacing)
        resections = []
        for cut in plan.resections:
            own = self.removed_by(cut)
            resections.append({"name": cut.name, "type": "plane" if isinstance(cut, PlaneCut) else "bezier",
                               "removes_ml": round(int(np.count_nonzero(own)) * voxel_ml, 3)})
            removed |= own
        remnant = self.liver & ~removed
        volumes = measure_masks(self.liver, self.crlm, remnant & ~self.crlm, self.grid.spacing)
        result = assess({**volumes, "crlm_count": self.tumours.count}, options)
        result.update({
            "remnant_ml": round(int(np.count_nonzero(remnant)) * voxel_ml, 3),
            "resected_ml": round(int(np.count_nonzero(removed)) * voxel_ml, 3),
            "resections": resections,
            "tumours": self.tumours.assess(removed, plan.resections),
            "margin_rule": MARGIN_RULE,
            "margin_resolution_mm": round(float(np.linalg.norm(self.grid.spacing)), 3),
        })
        result["references"] = {**result["references"], "margins": MARGIN_REFERENCE}
        return PlanResult(removed, result)

    def full_masks(self, removed: np.ndarray) -> dict[str, np.ndarray]:
        """Liver, CRLM, the planned FLR (remnant without CRLM) and the resected liver on the full grid."""
        remnant = self.liver & ~removed
        return {"liver": self.box.paste(self.liver), "crlm": self.box.paste(self.crlm),
                "flr": self.box.paste(remnant & ~self.crlm), "resected": self.box.paste(removed)}

    def meshes(self, plan: ResectionPlan) -> list[SurfaceMesh]:
        """Each cut's surface mesh with the distance to the nearest tumour at its vertices."""
        meshes = []
        for cut in plan.resections:
            points, triangles = plane_points(cut, self.hull) if isinstance(cut, PlaneCut) else patch_points(cut)
            meshes.append(SurfaceMesh(cut.name, points, triangles, self.tumours.distance_to_nearest(points)))
        return meshes
