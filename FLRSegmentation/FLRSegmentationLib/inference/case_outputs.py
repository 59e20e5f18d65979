"""A case's output files, written under a temporary name in OUTDIR and moved into place only when all are done.

`<case>_seg.nii.gz` label map (1 liver outside FLR, 2 CRLM, 3 FLR) on the input's exact grid,
`<case>.seg.nrrd` Slicer segmentation (overlapping Liver, CRLM, FLR), `<case>_report.json` volumes and provenance,
and with a preview `<case>_preview.png` (volumetry/preview_png.py). A caller may add files of its own (the DICOM SEG
and SR of a DICOM input): they are staged and moved with these.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np
import SimpleITK as sitk

from .. import __version__
from ..imaging.provenance import segmentation_provenance
from ..imaging.seg_nrrd import write_seg_nrrd
from ..vocabulary.labels import LABEL_CRLM, LABEL_FLR, LABEL_LIVER, split_label_map
from ..volumetry.export import DEMO_MARK
from ..volumetry.preview_png import write_preview

LABEL_VALUES = {LABEL_LIVER: "liver parenchyma outside the FLR", LABEL_CRLM: "CRLM", LABEL_FLR: "FLR"}


def output_paths(out_dir: Path, case: str, preview: bool = False) -> dict[str, Path]:
    paths = {"labelmap": out_dir / f"{case}_seg.nii.gz", "segmentation": out_dir / f"{case}.seg.nrrd",
             "report": out_dir / f"{case}_report.json"}
    return {**paths, "preview": out_dir / f"{case}_preview.png"} if preview else paths


def software_versions() -> dict[str, str]:
    versions = {"flrseg": __version__, "python": platform.python_version()}
    for package in ("nnunetv2", "torch", "SimpleITK", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def label_image(label_map: np.ndarray, reference: sitk.Image) -> sitk.Image:
    image = sitk.GetImageFromArray(label_map.astype(np.uint8))
    image.CopyInformation(reference)
    return image


def _provenance(report: dict, reference: sitk.Image) -> dict | None:
    """What the `.seg.nrrd` records of its making (imaging/provenance.py); None for a report without a model."""
    if not isinstance(report.get("model"), dict):
        return None
    return segmentation_provenance(report["model"], report.get("strategy"), Path(report.get("input", "")).name,
                                   reference, __version__, report.get("study"))


# (staging folder, label map, report) -> {key: path of a file it wrote in the staging folder}
ExtraWriter = Callable[[Path, np.ndarray, dict], dict[str, Path]]


def write_case(out_dir: Path, case: str, reference: sitk.Image, label_map: np.ndarray, report: dict,
               preview: bool = False, extra: ExtraWriter | None = None) -> dict:
    """Write the three files (four with the preview; reference is then the CT), and those of `extra`, atomically
    (all or none) and return their paths."""
    final = output_paths(out_dir, case, preview)
    staging = Path(tempfile.mkdtemp(prefix=f".{case}.partial-", dir=out_dir))
    try:
        staged = output_paths(staging, case, preview)
        sitk.WriteImage(label_image(label_map, reference), str(staged["labelmap"]), useCompression=True)
        write_seg_nrrd(staged["segmentation"], split_label_map(label_map), reference, _provenance(report, reference))
        if preview:
            demo = (report.get("model") or {}).get("demo")
            notes = ((DEMO_MARK,) if demo else ()) + ((report["headline"]["sentence"],) if "headline" in report else ())
            write_preview(staged["preview"], reference, split_label_map(label_map), report, case, notes)
        staged["report"].write_text(json.dumps(report, indent=2) + "\n")
        if extra is not None:
            for key, path in extra(staging, label_map, report).items():
                staged[key], final[key] = path, out_dir / path.name
        for key, path in staged.items():
            os.replace(path, final[key])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final
