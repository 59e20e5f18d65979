"""The task of one case, run on a worker: read the CT, segment it with the worker's open model, write its files.

The engine's own per-case code does the work (segment_run.segment_case, the atomic writing of case_outputs), so
a cluster run writes what a single-process run writes, under the same names. A case that fails for its own
reasons (an unreadable file, a bad grid) returns its one-line error instead of raising, so Dask does not retry it;
a case whose worker dies is retried by the scheduler. Each attempt is logged as an event, which is how the
client learns of retries.
"""

from __future__ import annotations

import time
from pathlib import Path

from distributed import get_worker

from ..errors import FLRSegError
from ..imaging.ct_input import read_ct
from ..inference.segment_run import segment_case
from .model_plugin import PLUGIN_PREFIX

ATTEMPT_TOPIC = "flrseg-attempt"


def segment_on_worker(batch: str, case: str, path: str, out_dir: str) -> dict:
    """{"status": "done", "report": ...} or {"status": "failed", "error": ...}, with the worker and seconds."""
    worker = get_worker()
    worker.log_event(ATTEMPT_TOPIC, {"batch": batch, "case": case, "worker": worker.address})
    start = time.perf_counter()
    outcome = {"worker": worker.address}
    try:
        model = worker.plugins[PLUGIN_PREFIX + batch].opened()
        report = segment_case(case, Path(path), read_ct(Path(path)), model.engine, model.package, model.options,
                              Path(out_dir), lambda *args: None, start)
        outcome.update(status="done", device=report["device"], report=report)
    except FLRSegError as exc:
        outcome.update(status="failed", error=str(exc))
    except Exception as exc:  # a bug or a resource limit: this case fails, the batch goes on
        outcome.update(status="failed", error=f"internal error: {type(exc).__name__}: {exc}")
    outcome["seconds"] = round(time.perf_counter() - start, 3)
    return outcome
