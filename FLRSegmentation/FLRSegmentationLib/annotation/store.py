"""What annotators did to each case, in one JSON sidecar per case: saves, notes, verified flag, time spent.

The sidecars live in the dataset's `annotation/` folder (beside imagesTr and labelsTr, where nnU-Net does not look)
and every change is written at once, atomically, so closing Slicer or a crash never loses a note or a flag and a
new session reads the same state. A case's status follows from its sidecar and whether it has a label:
not started (no label), pre-labelled (a label no annotator has saved yet: the AI's, or one the dataset came with),
corrected (an annotator saved it), verified (flagged by a reviewer; saving a new correction clears the flag, since
the verified version is gone).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ..errors import InputError
from ..imaging.atomic_files import write_json_atomically

NOT_STARTED, PRELABELLED, CORRECTED, VERIFIED = STATUSES = ("not started", "pre-labelled", "corrected", "verified")
PRELABEL, CORRECTION = "prelabel", "correction"  # the kinds of save


def now() -> str:
    """When, for the record: UTC with its offset, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_record(case_id: str) -> dict:
    return {"case": case_id, "notes": "", "verified": False, "verified_by": None, "verified_at": None,
            "seconds_spent": 0.0, "prelabel_model": None, "saves": []}


class AnnotationStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, case_id: str) -> Path:
        return self.folder / f"{case_id}.json"

    def record(self, case_id: str) -> dict:
        path = self.path(case_id)
        if not path.is_file():
            return new_record(case_id)
        try:
            return {**new_record(case_id), **json.loads(path.read_text())}
        except (OSError, ValueError) as error:
            raise InputError(f"{path}: the annotation record can't be read ({error}); restore it from a backup "
                             "or delete it to start the case's record afresh") from None

    def status(self, case_id: str, has_label: bool) -> str:
        record = self.record(case_id)
        if record["verified"]:
            return VERIFIED
        if any(save["kind"] == CORRECTION for save in record["saves"]):
            return CORRECTED
        return PRELABELLED if has_label else NOT_STARTED

    def set_notes(self, case_id: str, notes: str) -> None:
        self._update(case_id, lambda record: record.update(notes=notes))

    def set_verified(self, case_id: str, verified: bool, who: str) -> None:
        self._update(case_id, lambda record: record.update(
            verified=verified, verified_by=who if verified else None, verified_at=now() if verified else None))

    def add_time(self, case_id: str, seconds: float) -> None:
        if seconds > 0:
            self._update(case_id, lambda record: record.update(
                seconds_spent=round(record["seconds_spent"] + seconds, 1)))

    def add_save(self, case_id: str, save: dict) -> None:
        def change(record: dict) -> None:
            record["saves"].append(save)
            if save["kind"] == PRELABEL:
                record["prelabel_model"] = save["model"]
            else:
                record.update(verified=False, verified_by=None, verified_at=None)

        self._update(case_id, change)

    def _update(self, case_id: str, change: Callable[[dict], None]) -> dict:
        record = self.record(case_id)
        change(record)
        write_json_atomically(self.path(case_id), record)
        return record
