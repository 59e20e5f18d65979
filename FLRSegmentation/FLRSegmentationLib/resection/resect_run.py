"""`flrseg resect`: apply a plan to a segmentation and write the results, or write an initial plan.

Everything is checked (plan, segmentation, that each cut crosses the liver, that no output would replace an input)
before anything is written; the three files are made in a private folder in OUTDIR and moved into place together:
`<case>_resection.json` (volumes, verdicts, tumours, the plan, software versions), `<case>_resection.seg.nrrd`
(Liver, CRLM, FLR = the planned remnant without CRLM, Resected) and `<case>_resection.vtk` (the cut surfaces, LPS,
with the distance to the nearest tumour at each vertex).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from importlib import metadata
from pathlib import Path

import SimpleITK as sitk

from .. import __version__
from ..errors import InputError
from ..imaging.atomic_files import STAGING_PREFIX
from ..imaging.image_grid import ImageGrid
from ..imaging.seg_nrrd import write_seg_nrrd
from ..volumetry.flr_assessment import AssessmentOptions
from ..volumetry.segmentation_volumes import read_segmentation_masks
from .plan import COORDINATE_SYSTEMS, read_plan, write_plan
from .planner import ResectionPlanner
from .surface_mesh import write_vtk

CASE_SUFFIXES = (".seg.nrrd", ".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")
INITIAL_KINDS = ("plane", "bezier")


def case_of(segmentation: Path) -> str:
    """`phantom7.seg.nrrd` and `phantom7_seg.nii.gz` both give `phantom7`."""
    name = Path(segmentation).name
    suffix = next((s for s in CASE_SUFFIXES if name.lower().endswith(s)), Path(name).suffix)
    stem = name[:-len(suffix)] if suffix else name
    return stem[:-4] if stem.endswith("_seg") and len(stem) > 4 else stem


def output_paths(out_dir: Path, case: str) -> dict[str, Path]:
    return {"report": out_dir / f"{case}_resection.json", "segmentation": out_dir / f"{case}_resection.seg.nrrd",
            "surface": out_dir / f"{case}_resection.vtk"}


def software_versions() -> dict[str, str]:
    versions = {"flrseg": __version__, "python": platform.python_version()}
    for package in ("numpy", "scipy", "SimpleITK", "pynrrd"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def load_planner(segmentation: Path) -> tuple[ResectionPlanner, sitk.Image]:
    """The planner of a `.seg.nrrd` (Liver and CRLM by name, FLR if present) or an engine label map, and an image
    on the segmentation's grid."""
    masks, reference = read_segmentation_masks(segmentation, optional=("flr",))
    return ResectionPlanner(masks["liver"], masks["crlm"], ImageGrid.of_image(reference), masks["flr"]), reference


def resect(segmentation: Path, plan_path: Path, out_dir: Path, options: AssessmentOptions) -> tuple[dict, dict]:
    """Evaluate the plan on the segmentation, write the three files; returns the result and the written paths."""
    segmentation, out_dir = Path(segmentation), Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"output folder {out_dir} is a file; give a folder (-o)")
    plan = read_plan(plan_path)
    case = case_of(segmentation)
    final = output_paths(out_dir, case)
    for path in final.values():
        if path.resolve() in (segmentation.resolve(), Path(plan_path).resolve()):
            raise InputError(f"{path} would replace an input; choose another output folder (-o)")
    planner, reference = load_planner(segmentation)
    evaluation = planner.evaluate(plan, options)
    result = {"segmentation": segmentation.name, **evaluation.result, "plan": plan.to_json(),
              "software": software_versions()}
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    try:
        staged = output_paths(staging, case)
        staged["report"].write_text(json.dumps(result, indent=2) + "\n")
        write_seg_nrrd(staged["segmentation"], planner.full_masks(evaluation.removed), reference)
        write_vtk(staged["surface"], planner.meshes(plan))
        for key, path in staged.items():
            os.replace(path, final[key])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result, final


def write_initial_plan(segmentation: Path, plan_path: Path, kind: str = "plane",
                       coordinate_system: str = "LPS") -> dict:
    """Write the initial placement as a plan file; an existing file is never replaced."""
    if kind not in INITIAL_KINDS or coordinate_system not in COORDINATE_SYSTEMS:
        raise InputError(f"initial plan: kind {kind!r} / coordinate system {coordinate_system!r} unknown")
    plan_path = Path(plan_path)
    if plan_path.exists():
        raise InputError(f"{plan_path} exists; give a new file name for the initial plan (it is never replaced)")
    plan = load_planner(segmentation)[0].initial_plan(kind)
    write_plan(plan_path, plan, coordinate_system)
    return plan.to_json(coordinate_system)
