"""`flrseg watch --dicomweb URL`: poll the PACS for new CT studies (QIDO-RS, StudyDate from --since on) and
process each once, keeping a record in OUTDIR/flrseg_watch.json so a restart neither redoes nor skips a study.

Each study's entry goes through started -> storing -> done (or failed, with its one-line error). The record is
replaced atomically at each step. On a restart, a `started` study (stopped while retrieving or segmenting, nothing
stored yet) is processed again; a `storing` study (stopped while storing) is not: the PACS is asked which of its
SEG and SR arrived and the missing ones are stored from the outputs already in OUTDIR. Failed studies stay failed
(delete the entry to retry). A PACS that can't be reached during a poll is reported and polled again later.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pydicom

from ..errors import FLRSegError, InputError
from ..inference.segment_run import SegmentOptions
from .dicomweb import Pacs, PacsUnreachable, store_pair
from .pacs_case import PacsRequest, segment_from_pacs

RECORD_FILE = "flrseg_watch.json"


@dataclass
class WatchRecord:
    """OUTDIR/flrseg_watch.json: the PACS it belongs to and one entry per study seen."""

    path: Path
    url: str
    studies: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def open(cls, out_dir: Path, url: str) -> "WatchRecord":
        path = out_dir / RECORD_FILE
        if not path.exists():
            return cls(path, url)
        try:
            data = json.loads(path.read_text())
            studies = dict(data["studies"])
            recorded_url = str(data["pacs"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise InputError(f"{path}: not a readable watch record ({err}); move it away to start afresh") from None
        if recorded_url != url:
            raise InputError(f"{path} records studies of {recorded_url}, not {url}; give another output folder")
        return cls(path, url, studies)

    def update(self, study: str, **fields) -> None:
        entry = self.studies.setdefault(study, {})
        entry.update(fields, updated=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, staged = tempfile.mkstemp(prefix=f".{RECORD_FILE}.", dir=self.path.parent)
        with os.fdopen(fd, "w") as stream:
            json.dump({"pacs": self.url, "studies": self.studies}, stream, indent=2)
            stream.write("\n")
        os.replace(staged, self.path)


@dataclass(frozen=True)
class WatchOptions:
    url: str
    out_dir: Path
    since: str  # YYYYMMDD
    store: bool
    segment: SegmentOptions


def poll(options: WatchOptions, record: WatchRecord, notify=print) -> tuple[int, int]:
    """Process every study of the poll that the record doesn't hold as done or failed: (done, failed) counts."""
    pacs = Pacs(options.url)
    done = failed = 0
    for study in pacs.ct_studies_since(options.since):
        state = record.studies.get(study, {}).get("status")
        if state in ("done", "failed"):
            continue
        try:
            if state == "storing":
                finish_store(pacs, study, record)
            else:
                process(pacs, study, options, record)
            done += 1
            notify(f"study {study}: done")
        except PacsUnreachable:
            raise  # the study keeps its state: the next poll takes it up again
        except FLRSegError as err:
            record.update(study, status="failed", error=str(err))
            failed += 1
            notify(f"study {study}: failed: {err}")
    return done, failed


def process(pacs: Pacs, study: str, options: WatchOptions, record: WatchRecord) -> None:
    record.update(study, status="started")

    def before_store(outputs: dict) -> None:
        record.update(study, status="storing", **{key: str(path) for key, path in outputs.items()})

    result = segment_from_pacs(PacsRequest(options.url, study, store=options.store), options.out_dir,
                               options.segment, pacs=pacs, before_store=before_store)
    record.update(study, status="done", series=result.series.uid, stored=result.stored,
                  **{key: str(path) for key, path in result.outputs.items()})


def finish_store(pacs: Pacs, study: str, record: WatchRecord) -> None:
    """A store that a stopped watcher left: store what the PACS lacks, from the outputs written before it."""
    entry = record.studies[study]
    seg_path, sr_path = Path(entry["dicom_seg"]), Path(entry["dicom_sr"])
    seg, sr = (pydicom.dcmread(p, stop_before_pixels=True) for p in (seg_path, sr_path))
    held = pacs.instance_uids(study, str(seg.SeriesInstanceUID)) | pacs.instance_uids(study, str(sr.SeriesInstanceUID))
    if str(sr.SOPInstanceUID) not in held:
        store_pair(pacs, study, seg_path, sr_path, seg_stored=str(seg.SOPInstanceUID) in held)
    record.update(study, status="done", stored=True)


def watch(options: WatchOptions, interval_s: float, once: bool, notify=print) -> int:
    """Poll until stopped (or once): exit code 2 when a study of the last poll failed (with --once)."""
    record = WatchRecord.open(options.out_dir, options.url)
    while True:
        try:
            done, failed = poll(options, record, notify)
            notify(f"poll: {done} study(ies) processed, {failed} failed")
        except PacsUnreachable as err:
            if once:
                raise
            notify(f"poll failed, retrying in {interval_s:g} s: {err}")
            failed = 0
        if once:
            return 2 if failed else 0
        time.sleep(interval_s)
