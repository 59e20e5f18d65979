"""A DICOM input's extra outputs: `<case>_seg.dcm` (DICOM Segmentation) and `<case>_sr.dcm` (TID 1500 report).

They are written into the case's staging folder by `flrseg segment`'s atomic writer, so they appear in OUTDIR
together with the label map and the report, or not at all. The source slices are matched to the CT that was read
before the case is segmented, so a folder whose files don't form that CT stops before the model runs.
"""

from __future__ import annotations

from pathlib import Path

from .seg_writer import ModelIdentity, build_seg
from .sr_writer import build_sr
from .source_slices import source_slices


def dicom_object_paths(folder: Path, case: str) -> dict[str, Path]:
    return {"dicom_seg": folder / f"{case}_seg.dcm", "dicom_sr": folder / f"{case}_sr.dcm"}


def dicom_outputs(case: str, path: Path, ct):
    """The writer of a DICOM folder input's SEG and SR; None for a file input (no source instances to refer to)."""
    if not Path(path).is_dir():
        return None
    sources = source_slices(Path(path), ct)

    def write(staging: Path, label_map, report: dict) -> dict[str, Path]:
        paths = dicom_object_paths(staging, case)
        seg = build_seg(sources, label_map, ModelIdentity.of_report(report))
        seg.save_as(paths["dicom_seg"], enforce_file_format=True)
        build_sr(sources, seg, report).save_as(paths["dicom_sr"], enforce_file_format=True)
        return paths

    return write
