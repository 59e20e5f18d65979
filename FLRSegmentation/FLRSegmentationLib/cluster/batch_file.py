"""`flrseg_batch.json`, the summary of a cluster run, and the test `--resume` uses to skip finished cases.

One record per input, in input order: `case`, `input`, `status` (done, failed, or skipped when --resume found its
outputs complete), `worker` (the address of the worker that wrote it), `device` (per stage), `seconds`,
`attempts` (how many workers started it: more than 1 when a worker died mid-case and it was retried),
`workers_tried` and `error` (one line, for a failed case).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from .. import __version__
from ..imaging.atomic_files import write_json_atomically
from ..inference.case_outputs import output_paths

BATCH_FILE = "flrseg_batch.json"


def case_record(case: str, path: Path, status: str, **fields) -> dict:
    record = {"case": case, "input": str(path), "status": status, "worker": None, "device": None, "seconds": None,
              "attempts": 0, "workers_tried": [], "error": None}
    record.update(fields)
    return record


def outputs_complete(out_dir: Path, case: str, model: dict, strategy: str) -> bool:
    """Whether the case's three files are in place and its report was made by this model and strategy.

    The report is the last of the three files moved into place, so a readable report means the others are there."""
    paths = output_paths(out_dir, case)
    if not all(p.is_file() for p in paths.values()):
        return False
    try:
        report = json.loads(paths["report"].read_text())
    except (OSError, ValueError):
        return False
    made_by = report.get("model") or {}
    return (report.get("case") == case and report.get("strategy") == strategy
            and made_by.get("id") == model["id"] and made_by.get("version") == model["version"])


def write_batch_file(out_dir: Path, records: list[dict], cluster: str, model: dict, strategy: str,
                     started: float) -> Path:
    counts = {status: sum(r["status"] == status for r in records) for status in ("done", "failed", "skipped")}
    summary = {"flrseg": __version__, "cluster": cluster, "model": model, "strategy": strategy,
               "seconds": round(time.time() - started, 3), "counts": counts,
               "all_succeeded": counts["failed"] == 0, "cases": records}
    path = out_dir / BATCH_FILE
    write_json_atomically(path, summary)
    return path
