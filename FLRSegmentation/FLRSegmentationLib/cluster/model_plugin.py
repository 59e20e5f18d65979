"""The worker plugin that opens the model package once per worker process and keeps it for all its cases.

The client sends the sha256 of the package's manifest.json (which holds the sha256 of every other file); each
worker opens its own copy (a registry id or path resolved on the worker), checks every file against that manifest
and the manifest against the client's, so a node with another version of the model refuses to segment. The
package is unpacked into a private temporary folder (mode 0700), removed when the worker closes. Opening runs
off the worker's event loop, so the worker keeps answering the scheduler while large weights load.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

from ..errors import ModelError
from ..inference.segment_run import SegmentOptions, open_engine, resolve_device
from ..models.packages import MANIFEST, ModelPackage, sha256_file

PLUGIN_PREFIX = "flrseg-model-"  # + the batch id: batches that share a cluster keep their own models


def package_digest(package: ModelPackage) -> str:
    """The sha256 of the package's manifest, which names the sha256 of every other file: the whole package's."""
    return sha256_file(package.root / MANIFEST)


def pinned_gpu(worker_name, gpus: list[str]) -> str:
    """The GPU of a local worker (named 0..N-1 by LocalCluster): one each, shared out in turn when N > GPUs."""
    index = worker_name if isinstance(worker_name, int) else sum(map(ord, str(worker_name)))
    return gpus[index % len(gpus)]


@dataclass
class OpenedModel:
    package: ModelPackage
    engine: object  # inference.engine.SegmentationEngine (imports torch, so not at module import)
    options: SegmentOptions


class ModelPlugin(WorkerPlugin):
    """Registered once per batch; every worker, including one that replaces a dead worker, runs setup()."""

    def __init__(self, batch: str, options: SegmentOptions, digest: str, gpus: list[str] = (),
                 torch_threads: int = 0):
        self.name = PLUGIN_PREFIX + batch
        self.options = options
        self.digest = digest
        self.gpus = list(gpus)
        self.torch_threads = torch_threads

    async def setup(self, worker) -> None:
        self._lock = threading.Lock()
        self._opened: OpenedModel | None = None
        self._error: Exception | None = None
        self._unpack_dir: Path | None = None
        self._worker_name = worker.name
        await asyncio.get_running_loop().run_in_executor(None, self.opened)

    def teardown(self, worker) -> None:
        if self._unpack_dir is not None:
            shutil.rmtree(self._unpack_dir, ignore_errors=True)

    def opened(self) -> OpenedModel:
        """The open model; a failure to open it is raised again for every case this worker is given."""
        with self._lock:
            if self._error is not None:
                raise self._error
            if self._opened is None:
                try:
                    self._opened = self._open()
                except Exception as exc:
                    self._error = exc
                    raise
            return self._opened

    def _open(self) -> OpenedModel:
        if self.gpus:  # before anything touches CUDA in this process
            os.environ["CUDA_VISIBLE_DEVICES"] = pinned_gpu(self._worker_name, self.gpus)
        import torch

        if self.torch_threads:
            torch.set_num_threads(self.torch_threads)
        device = resolve_device(self.options.device)
        self._unpack_dir = Path(tempfile.mkdtemp(prefix="flrseg-model-"))
        package, engine = open_engine(self.options, device, self._unpack_dir)
        found = package_digest(package)
        if found != self.digest:
            raise ModelError(f"worker {self._worker_name}: its copy of model '{package.id}' {package.version} "
                             f"differs from the client's (manifest sha256 {found[:12]}, expected "
                             f"{self.digest[:12]}); install the same package on every worker")
        return OpenedModel(package, engine, self.options)
