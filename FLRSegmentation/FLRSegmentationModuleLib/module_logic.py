"""What the module does, without Qt: run one segmentation in the background, the models, the per-user settings.

FLRSegmentation.py's Logic adds only Slicer's parameter node on top, so everything here runs and is tested with
real MRML from slicer-core. The GUI's timer calls poll(); at most one job runs at a time.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from FLRSegmentationLib.errors import FLRSegError, InputError, ModelError

from .device_choice import CHECKING_NOTE, CpuTiming, device_note, torch_problem_note
from .device_probe import DeviceProbe
from .model_manager import ModelManager, bundled_registry_file
from .module_settings import ModuleSettings
from .process_runner import EngineOptions, FinishedEvent, RunStatus, default_python
from .segmentation_job import SegmentationJob

STRATEGY_TITLES = {"cascade": "Cascade (liver, CRLM, FLR)", "e2e": "End-to-end"}
MODELS_FOLDER_KEY = "models_folder"
CPU_TIMING_KEY = "last_cpu_timing"


@dataclass(frozen=True)
class RunRequest:
    volume_node: object
    model_id: str
    strategy: str = "cascade"
    device: str = "auto"
    fast: bool = False


class ModuleLogic:
    """Starts, polls and cancels one segmentation job; owns the model manager and the settings."""

    def __init__(self, module_dir: Path, settings: ModuleSettings, python: str | None = None):
        self.settings = settings
        self.python = python or default_python()
        self.models = ModelManager(bundled_registry_file(module_dir), self.models_folder())
        self.devices = DeviceProbe(self.python)  # asked on the first device note other than CPU, then kept
        self.job: SegmentationJob | None = None
        self.segmentation_node = None  # the last successful run's result
        self.report: dict | None = None

    def models_folder(self) -> Path:
        """The user's choice, else Models/ beside the settings file."""
        return Path(self.settings.get(MODELS_FOLDER_KEY) or self.settings.path.parent / "Models")

    def set_models_folder(self, path: Path) -> None:
        self.settings.set(MODELS_FOLDER_KEY, str(path))
        self.models = ModelManager(self.models.registry_file, Path(path))

    def installed_model(self, model_id: str):
        """The installed model of this id, or None (unknown, not installed, or a damaged registry)."""
        try:
            info = self.models.model(model_id)
        except ModelError:
            return None
        return info if info.installed else None

    def strategies(self, model_id: str) -> list[str]:
        """The strategies the model has; all when it is not installed."""
        info = self.installed_model(model_id)
        return [s for s in STRATEGY_TITLES if info is None or s in info.strategies]

    def last_cpu_timing(self) -> CpuTiming | None:
        stored = self.settings.get(CPU_TIMING_KEY)
        try:
            return CpuTiming(**stored) if isinstance(stored, dict) else None
        except TypeError:  # written by another version
            return None

    def device_note(self, device: str, volume_node, model_id: str, fast: bool) -> str:
        """The note under the device choice; never imports torch here (the device probe runs in the background)."""
        report = self.devices.known if device == "cpu" else self.devices.report()
        if report is None and device != "cpu":
            return CHECKING_NOTE
        if report is not None and report.problem:
            return torch_problem_note(report.problem)
        image = volume_node.GetImageData() if volume_node is not None else None
        info = self.installed_model(model_id)
        return device_note(device, report.cuda if report else None, image.GetNumberOfPoints() if image else None,
                           model_id, bool(info and info.demo), fast, self.last_cpu_timing())

    @property
    def running(self) -> bool:
        return self.job is not None

    def start(self, request: RunRequest) -> None:
        """Start segmenting the request's volume; InputError or ModelError (one line) before anything starts."""
        if self.job is not None:
            raise InputError("A segmentation is already running; cancel it first")
        if request.volume_node is None:
            raise InputError("Select a CT volume")
        options = self.engine_options(request.model_id, request.strategy, request.device, request.fast)
        self.job = SegmentationJob(request.volume_node, options, self.python)

    def engine_options(self, model_id: str, strategy: str, device: str, fast: bool) -> EngineOptions:
        """The engine's options for an installed model (also the annotator's pre-label); ModelError, one line,
        when the model is not installed or has no such strategy."""
        info = self.installed_model(model_id)
        if info is None:
            raise ModelError(f"The model '{model_id}' is not installed; install it in the Model manager")
        if strategy not in info.strategies:
            raise ModelError(f"The model '{model_id}' has no {strategy} strategy; choose one of "
                             f"{', '.join(info.strategies)}")
        return EngineOptions(str(info.path), strategy, device, fast)

    def poll(self) -> list:
        """The job's events since the last call; after its FinishedEvent the job is over."""
        if self.job is None:
            return []
        events = self.job.poll()
        if events and isinstance(events[-1], FinishedEvent):
            self._finish(self.job)
        return events

    def cancel(self) -> FinishedEvent | None:
        """Cancel the running job (its whole process tree); None when none runs."""
        if self.job is None:
            return None
        job, self.job = self.job, None
        return job.cancel()

    def wait(self, timeout_s: float, between: Callable[[], None] = lambda: None) -> list:
        """Poll until the job ends, calling between() each time (e.g. to keep Slicer's GUI alive); for tests."""
        events, deadline = [], time.monotonic() + timeout_s
        while self.job is not None:
            if time.monotonic() > deadline:
                self.cancel()
                raise TimeoutError(f"the segmentation did not finish in {timeout_s:g} s")
            events += self.poll()
            between()
            time.sleep(0.05)
        return events

    def _finish(self, job: SegmentationJob) -> None:
        self.job = None
        if job.status is not RunStatus.SUCCEEDED:
            return
        self.segmentation_node, self.report = job.segmentation_node, job.report
        if set(job.report.get("device", {}).values()) == {"cpu"}:
            timing = CpuTiming(job.report["total_seconds"], math.prod(job.report["grid"]["size"]),
                               job.report["model"]["id"], bool(job.report.get("fast")))
            try:
                self.settings.set(CPU_TIMING_KEY, asdict(timing))
            except OSError:
                pass  # an estimate for next time is not worth failing a finished run over


def run_error_message(error: Exception) -> str:
    """A start() failure as one line for the status label."""
    if isinstance(error, FLRSegError):
        return str(error)
    return f"Could not start the segmentation process: {error}"
