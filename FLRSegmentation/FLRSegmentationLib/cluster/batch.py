"""`flrseg segment --cluster`: every case is one Dask task, segmented and written by the worker that runs it.

Before anything is submitted the client checks what a single-process run checks (case names, the output folder,
the model package and strategy) and each input's header; an input that fails its check is a failed case and
the others go on. A worker that dies mid-case (killed, out of memory) is replaced by its nanny and the scheduler
gives the case to another worker, up to Dask's `distributed.scheduler.allowed-failures` (3) times. Outputs
and `flrseg_batch.json` are written atomically; the staging folders of cases whose worker died are removed at the
end, so OUTDIR holds only whole files. Inputs and OUTDIR must be paths every worker sees (a shared file system).
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from distributed import KilledWorker, as_completed

from ..errors import FLRSegError, InputError
from ..imaging.ct_input import case_name
from ..inference.progress import ProgressReporter
from ..inference.segment_run import SegmentOptions, check_output_folder, check_outputs_apart, checked_cases
from ..models.packages import resolve_model
from .batch_file import case_record, outputs_complete, write_batch_file
from .case_task import ATTEMPT_TOPIC, segment_on_worker
from .connection import ClusterSpec, dashboard_line, dask_client, gpu_resources, local_gpus
from .model_plugin import ModelPlugin, package_digest


@dataclass(frozen=True)
class BatchRequest:
    inputs: list[Path]
    out_dir: Path
    options: SegmentOptions
    cluster: ClusterSpec
    resume: bool = False
    verbose: bool = False


def run_batch(request: BatchRequest, progress: ProgressReporter, notify=print) -> tuple[list[dict], list[dict]]:
    """Segment every input on the cluster; (records in input order, reports of the cases done now).

    notify(line) receives the lines for people: the cluster, the dashboard address, each failed case."""
    started = time.time()
    planned = named_cases(request.inputs)
    check_outputs_apart(request.out_dir, planned)
    check_output_folder(request.out_dir)
    model = client_model(request.options)
    records, pending = {}, []
    for case, path in planned:
        if request.resume and outputs_complete(request.out_dir, case, model, request.options.strategy):
            records[case] = case_record(case, path, "skipped")
            continue
        try:
            checked_cases([path])
        except FLRSegError as exc:
            records[case] = case_record(case, path, "failed", error=str(exc))
            continue
        pending.append((case, path))
    reports = []
    try:
        if pending:
            reports = _segment_on_cluster(request, model, pending, records, progress, notify)
    finally:
        _remove_staging(request.out_dir, [case for case, _ in planned])
    order = {case: index for index, (case, _) in enumerate(planned)}
    reports.sort(key=lambda report: order[report["case"]])
    ordered = [records[case] for case, _ in planned]
    request.out_dir.mkdir(parents=True, exist_ok=True)
    path = write_batch_file(request.out_dir, ordered, request.cluster.text, model, request.options.strategy, started)
    for record in ordered:
        if record["status"] == "failed":
            notify(f"flrseg: case {record['case']} failed: {record['error']}")
    skipped = sum(r["status"] == "skipped" for r in ordered)
    progress("done", 1.0, f"{len(reports)} case(s) written to {request.out_dir}"
             + (f", {skipped} already complete" if skipped else "") + f"; summary in {path.name}")
    return ordered, reports


def named_cases(inputs: list[Path]) -> list[tuple[str, Path]]:
    """(case, path) per input; two inputs that would write the same output names stop the run before it starts."""
    cases = [(case_name(path), path) for path in inputs]
    names = [name for name, _ in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"several inputs would write outputs named {', '.join(duplicates)}; "
                         f"rename them or run them into different output folders")
    return cases


def client_model(options: SegmentOptions) -> dict:
    """The model as the client sees it (opened and checked once here, so a bad model stops the run early)."""
    with tempfile.TemporaryDirectory(prefix="flrseg-model-") as unpack_dir:
        package = resolve_model(options.model, Path(unpack_dir))
        package.strategy_stages(options.strategy)
        return {"id": package.id, "version": package.version, "sha256": package_digest(package)}


def _segment_on_cluster(request, model, pending, records, progress, notify) -> list[dict]:
    gpus = local_gpus(request.options.device) if request.cluster.local else []
    batch = uuid.uuid4().hex[:12]
    attempts = _Attempts(batch)
    with dask_client(request.cluster, gpus, request.verbose) as client:
        request.out_dir.mkdir(parents=True, exist_ok=True)  # once the cluster is there: a failed start writes nothing
        notify(f"dask cluster: {request.cluster.text}, scheduler {client.scheduler.address}, "
               f"{len(client.scheduler_info(n_workers=-1)['workers'])} worker(s)")
        notify(dashboard_line(client))
        resources = gpu_resources(client, request.options.device)
        threads = max(1, (os.cpu_count() or 1) // request.cluster.workers) if request.cluster.local else 0
        plugin = ModelPlugin(batch, request.options, model["sha256"], gpus, threads)
        client.subscribe_topic(ATTEMPT_TOPIC, attempts.record)
        try:
            client.register_plugin(plugin)  # a worker that can't open the model stops the run here, exit 2
            return _collect(client, batch, request, pending, records, resources, attempts, progress)
        finally:
            client.unregister_worker_plugin(plugin.name)


def _collect(client, batch, request, pending, records, resources, attempts, progress) -> list[dict]:
    out_dir = str(request.out_dir.resolve())  # workers may run in other folders, on other machines
    futures = {client.submit(segment_on_worker, batch, case, str(path.resolve()), out_dir, pure=False,
                             key=f"flrseg-segment-{case}-{batch}", resources=resources): (case, path)
               for case, path in pending}
    reports = []
    progress("segment", 0.0, f"{len(futures)} case(s) on {request.cluster.text}")
    for done, future in enumerate(as_completed(futures), start=1):
        case, path = futures[future]
        try:
            outcome = future.result()
        except KilledWorker as exc:
            outcome = {"status": "failed", "error": f"its worker died {exc.allowed_failures + 1} times while "
                                                    f"segmenting it (killed, or out of memory: see the worker logs)"}
        future.release()
        tried = attempts.of(case)
        report = outcome.pop("report", None)
        if report is not None:
            reports.append(report)
        records[case] = case_record(case, path, attempts=len(tried), workers_tried=tried, **outcome)
        progress("segment", done / len(futures), f"{case} {outcome['status']} ({done}/{len(futures)})")
    return reports


class _Attempts:
    """The workers that started each case of one batch, from the events the tasks log (called on Dask's thread)."""

    def __init__(self, batch: str):
        self.batch = batch
        self._lock = threading.Lock()
        self._workers: dict[str, list[str]] = {}

    def record(self, event) -> None:
        _, message = event
        if isinstance(message, dict) and message.get("batch") == self.batch:
            with self._lock:
                self._workers.setdefault(message["case"], []).append(message["worker"])

    def of(self, case: str) -> list[str]:
        with self._lock:
            return list(self._workers.get(case, []))


def _remove_staging(out_dir: Path, cases: list[str]) -> None:
    """The staging folders a dead worker left (write_case removes its own whenever its process lives on)."""
    for case in cases:
        for staging in out_dir.glob(f".{glob.escape(case)}.partial-*"):
            shutil.rmtree(staging, ignore_errors=True)
