"""The results section's logic: the live table and chart of the segmentation being measured, and its exports.

follow() gets the parameter node's values each time they change and redoes only what changed: another
segmentation is watched (each segmentation keeps its own table and chart as node references, so they are found
again and saved with the scene); new patient values recompute, debounced like an edit. Exports recompute first,
so they always hold the latest edit, and are written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.imaging.atomic_files import replace_atomically
from FLRSegmentationLib.volumetry.body_size import BSA_FORMULAS
from FLRSegmentationLib.volumetry.export import write_csv, write_html, write_json
from FLRSegmentationLib.volumetry.flr_assessment import AssessmentOptions
from FLRSegmentationLib.volumetry.flr_thresholds import CONDITIONS, NORMAL_THRESHOLDS, THRESHOLDS
from FLRSegmentationLib.volumetry.rows import volumetry_rows, warning_rows

from .results_chart import chart_view_node, make_chart, update_chart
from .segmentation_loader import recorded_model
from .volumetry_table import LiveVolumetry

TABLE_ROLE = "FLRSegmentationVolumetryTable"
CHART_ROLE = "FLRSegmentationVolumetryChart"
EXPORT_KINDS = ("csv", "json", "html")
# What the patient combo boxes show for each value the parameter node keeps.
BSA_TITLES = {name: f"{formula.reference.split(',')[0]}: {formula.formula}" for name, formula in BSA_FORMULAS.items()}
CONDITION_TITLES = {c: next(t.description for t in THRESHOLDS if t.condition == c) for c in CONDITIONS}
NORMAL_THRESHOLD_TITLES = {percent: f"{percent:g} %" for percent in NORMAL_THRESHOLDS}


@dataclass(frozen=True)
class PatientValues:
    """The parameter node's patient fields; 0 height or weight is the spin boxes' "not given"."""

    height_cm: float = 0.0
    weight_kg: float = 0.0
    bsa_formula: str = "mosteller"
    condition: str = "normal"
    normal_threshold: float = NORMAL_THRESHOLDS[0]

    def options(self) -> AssessmentOptions:
        """Checked options; InputError (shown in the table) for a value outside the human range or half a pair."""
        return AssessmentOptions(self.height_cm or None, self.weight_kg or None, self.bsa_formula, self.condition,
                                 float(self.normal_threshold))


def model_text(segmentation_node) -> str:
    """Which model made the segmentation, as the results section and the reports name it."""
    model = recorded_model(segmentation_node)
    if model is None:
        return "Model: not recorded (a segmentation made or loaded outside this module)"
    return f"Model: {model.get('label') or model.get('id', 'unknown')}"


class VolumetryResults:
    """on_update(), when given, is called after each recompute, once the table and chart hold the new numbers
    (the web app pushes them to the page then; Slicer's widgets observe the nodes themselves)."""

    def __init__(self, scene, make_scheduler: Callable, on_update: Callable[[], None] | None = None):
        self.scene, self.make_scheduler, self.on_update = scene, make_scheduler, on_update
        self.segmentation_node = None
        self.values = PatientValues()
        self.live: LiveVolumetry | None = None
        self.chart = None

    @property
    def table_node(self):
        return self.live.table_node if self.live else None

    def follow(self, segmentation_node, values: PatientValues) -> None:
        """Measure segmentation_node (None: stop) with these patient values."""
        changed_values = values != self.values
        self.values = values
        if segmentation_node is not self.segmentation_node:
            self._watch(segmentation_node)
        elif changed_values and self.live:
            self.live.request_update()

    def close(self) -> None:
        """Stop following (the node changed, the scene closes or the module is unloaded)."""
        if self.live:
            self.live.close()
        self.live, self.chart, self.segmentation_node = None, None, None

    def _watch(self, node) -> None:
        self.close()
        if node is None:
            return
        self.segmentation_node = node
        name = node.GetName()
        table = self._referenced(node, TABLE_ROLE,
                                 lambda: self.scene.AddNewNodeByClass("vtkMRMLTableNode", f"{name} FLR volumetry"))
        self.chart = self._referenced(node, CHART_ROLE, lambda: make_chart(self.scene, f"{name} FLR chart"))
        chart_view_node(self.scene).SetPlotChartNodeID(self.chart.GetID())
        self.live = LiveVolumetry(node, table, lambda: self.values.options(), self.make_scheduler,
                                  on_result=self._on_result)
        self.live.recompute()

    @staticmethod
    def _referenced(node, role: str, create: Callable):
        """The node's table or chart from an earlier watch (or a saved scene), else a new one from create()."""
        existing = node.GetNodeReference(role)
        if existing is None:
            existing = create()
            node.SetNodeReferenceID(role, existing.GetID())
        return existing

    def _on_result(self, result: dict | None) -> None:
        update_chart(self.chart, result, self.live.error)
        if self.on_update:
            self.on_update()

    def current_result(self) -> dict:
        """The assessment of the segmentation as it is now (recomputed, not waiting for the debounce)."""
        if self.live is None:
            raise InputError("Select a segmentation with Liver, CRLM and FLR segments in Result first")
        self.live.recompute()
        if self.live.result is None:
            raise InputError(f"Nothing to export: {self.live.error}")
        return self.live.result

    def export(self, kind: str, path: Path, screenshot: Path | None = None) -> None:
        """Write the results as csv, json (every field, the model included) or a one-page html report."""
        if kind not in EXPORT_KINDS:
            raise InputError(f"export format '{kind}' is unknown; use one of {', '.join(EXPORT_KINDS)}")
        result = self.current_result()
        name, model, rows = self.segmentation_node.GetName(), recorded_model(self.segmentation_node), \
            volumetry_rows(result)
        writers = {
            "csv": lambda target: write_csv(target, rows + warning_rows(result)),
            "json": lambda target: write_json(target, {**result, "segmentation": name, "model": model}),
            "html": lambda target: write_html(target, f"FLR volumetry: {name}", rows, model, screenshot,
                                              headline=result["headline"], result=result,
                                              case_lines=[f"Segmentation: {name}"]),
        }
        try:
            replace_atomically(Path(path), writers[kind])
        except OSError as error:
            raise InputError(f"can't write {path}: {error.strerror or error}; choose another folder") from None
