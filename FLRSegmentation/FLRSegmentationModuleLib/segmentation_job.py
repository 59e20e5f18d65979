"""One segmentation of one CT volume: export, run the engine in the background, load the result into the scene.

The module's Logic holds at most one job and its GUI timer calls `poll()`. A failure at any step becomes a
FinishedEvent with a one-line message; a cancelled or failed job leaves the scene as it was.
"""

from __future__ import annotations

from pathlib import Path

from FLRSegmentationLib.errors import FLRSegError
from FLRSegmentationLib.inference.case_outputs import output_paths

from .process_runner import EngineOptions, FinishedEvent, RunStatus, start_engine
from .report_text import load_report, report_summary
from .engine_findings import record_engine_findings
from .segmentation_loader import load_engine_segmentation, record_model
from .volume_export import write_volume

CASE = "volume"  # write_volume's file name, so the engine's outputs are volume.seg.nrrd and volume_report.json


class SegmentationJob:
    def __init__(self, volume_node, options: EngineOptions, python: str):
        self.volume_node = volume_node
        self.options = options
        self.segmentation_node = None
        self.report: dict | None = None
        self.run, self.output_dir = start_engine(python, lambda folder: write_volume(volume_node, folder), options)

    @property
    def status(self) -> RunStatus:
        return self.run.status

    def poll(self) -> list:
        events = self.run.poll()
        if events and isinstance(events[-1], FinishedEvent) and events[-1].status is RunStatus.SUCCEEDED:
            events[-1] = self._load_results(events[-1])
        return events

    def cancel(self) -> FinishedEvent:
        return self.run.cancel()

    def _load_results(self, finished: FinishedEvent) -> FinishedEvent:
        paths = output_paths(Path(self.output_dir), CASE)
        try:
            self.report = load_report(paths["report"])
            self.segmentation_node = load_engine_segmentation(paths["segmentation"], self.volume_node)
            record_model(self.segmentation_node, self.report.get("model", {}))
            record_engine_findings(self.segmentation_node, self.report)
        except (FLRSegError, OSError, ValueError) as exc:
            self.run.status = RunStatus.FAILED
            return FinishedEvent(RunStatus.FAILED, f"Could not load the results: {exc}", finished.details)
        finally:
            self.run.remove_work_dir()
        return FinishedEvent(RunStatus.SUCCEEDED, report_summary(self.report), finished.details)
