"""One study from the PACS: retrieve its CT series, segment it like a local DICOM folder, store SEG and SR back.

The series is retrieved into a private temporary folder (mode 0700, removed afterwards) and checked as one
complete acquisition (no missing or doubled slices) before the model is loaded. Outputs are written to OUTDIR
with the atomic writer of `flrseg segment`; only whole outputs are ever stored, SEG first, then its SR.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import InputError, PacsError
from ..imaging.dicom_series import read_acquisition, scan_folder, select_acquisition
from ..inference.case_outputs import output_paths
from ..inference.segment_run import SegmentOptions, check_output_folder, segment
from .dicom_outputs import dicom_object_paths, dicom_outputs
from .dicomweb import Pacs, SeriesInfo, choose_ct_series, retrieve_series, store_pair


@dataclass(frozen=True)
class PacsRequest:
    url: str
    study: str
    series: str | None = None
    store: bool = False


@dataclass(frozen=True)
class PacsResult:
    series: SeriesInfo
    report: dict
    outputs: dict[str, Path]
    stored: bool


def segment_from_pacs(request: PacsRequest, out_dir: Path, options: SegmentOptions, progress=None,
                      pacs: Pacs | None = None, before_store: Callable[[dict], None] | None = None) -> PacsResult:
    """before_store(outputs) runs once the outputs are written and before anything is stored (watch's record)."""
    pacs = pacs or Pacs(request.url)
    info = choose_ct_series(pacs, request.study, request.series)
    check_output_folder(out_dir)
    with tempfile.TemporaryDirectory(prefix="flrseg-pacs-") as tmp:
        folder = Path(tmp) / info.uid
        retrieve_series(pacs, request.study, info, folder)
        check_complete(folder, info)
        # named by the series UID (<series UID>_seg.dcm, ...): unique across a patient's studies, where
        # PatientID_S<SeriesNumber> is not, so a watched PACS never overwrites an earlier study's outputs
        report = segment([folder], out_dir, options, progress, extra_outputs=dicom_outputs, case_names=[info.uid])[0]
    report = record_source(out_dir, info.uid, report, f"{pacs.url} study {request.study} series {info.uid}")
    outputs = dicom_object_paths(out_dir, info.uid)
    if request.store:
        if before_store:
            before_store(outputs)
        store_pair(pacs, request.study, outputs["dicom_seg"], outputs["dicom_sr"])
    return PacsResult(info, report, outputs, request.store)


def record_source(out_dir: Path, case: str, report: dict, source: str) -> dict:
    """The report names the PACS series it came from, not the temporary folder it was retrieved into."""
    report = {**report, "input": source}
    path = output_paths(out_dir, case)["report"]
    staged = path.with_name(f".{path.name}.partial")
    staged.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(staged, path)
    return report


def check_complete(folder: Path, info: SeriesInfo) -> None:
    """The retrieved files must form one regular acquisition: a gap means the PACS lacks slices."""
    try:
        read_acquisition(select_acquisition(scan_folder(folder).ct))
    except InputError as err:
        fault = str(err).split(": ", 1)[-1].split("; ")[0]
        raise PacsError(f"retrieved CT series {info.uid}: {fault}; check that the PACS holds the whole series") from None
