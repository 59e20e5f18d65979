"""The module's Resection section: add, drag, remove, save and load cut surfaces; the planned FLR, its volumetry, the
tumour margins and the surfaces coloured by margin follow the drags.

Thin: it binds its own .ui (Resources/UI/FLRSegmentationResection.ui) to ResectionLogic, where the plan, the debounced
updates and every MRML node live. Qt is imported inside methods, so this file imports headless like the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import slicer

from FLRSegmentationLib.errors import FLRSegError

UI_FILE = Path(__file__).resolve().parents[2] / "Resources/UI/FLRSegmentationResection.ui"
PLAN_FILTER = "Resection plan (*.json)"


def legend_html(bands) -> str:
    """One coloured square per margin band, with what it means."""
    squares = [f"<span style='color:#{''.join(f'{round(c * 255):02x}' for c in rgb)}'>&#9632;</span> {name}"
               for name, rgb in bands]
    return "Surface, distance to the nearest tumour: " + " &nbsp; ".join(squares)


def status_text(result: dict | None, error: str | None) -> str:
    if result is None:
        return error or ""
    flagged = sum(1 for t in result["tumours"] if t["flags"])
    return (f"Planned FLR {result['flr_ml']:.1f} mL, {result['flr_percent']} % ({result['verdict']}); "
            f"resected {result['resected_ml']:.1f} mL; {len(result['tumours'])} tumour(s), {flagged} flagged")


class ResectionSection:
    """logic is the module's Logic: its `resection` (ResectionLogic) and `patientValues(params)`."""

    def __init__(self, parentLayout, logic):
        self.logic, self.resection = logic, logic.resection
        widget = slicer.util.loadUI(str(UI_FILE))
        parentLayout.addWidget(widget)
        self.ui = slicer.util.childWidgetVariables(widget)
        for view in (self.ui.resectionTableView, self.ui.tumourTableView):
            view.setMRMLScene(slicer.mrmlScene)
        self.ui.addPlaneButton.clicked.connect(lambda: self.run(lambda: self.resection.add("plane")))
        self.ui.addCurvedButton.clicked.connect(lambda: self.run(lambda: self.resection.add("bezier")))
        self.ui.removeResectionButton.clicked.connect(self.onRemove)
        self.ui.savePlanButton.clicked.connect(self.onSave)
        self.ui.loadPlanButton.clicked.connect(self.onLoad)
        self.ui.marginLegendLabel.text = legend_html(self.resection.legend())
        self.resection.on_result = self.onResult

    def updateGUI(self, params) -> None:
        self.resection.follow(params.outputSegmentation, self.logic.patientValues(params))
        for button in (self.ui.addPlaneButton, self.ui.addCurvedButton, self.ui.loadPlanButton):
            button.enabled = params.outputSegmentation is not None
        self.ui.resectionTableView.setMRMLTableNode(self.resection.table_node)
        self.ui.tumourTableView.setMRMLTableNode(self.resection.tumour_table_node)
        self.showResections()

    def showResections(self) -> None:
        names = [node.GetName() for node in self.resection.resection_nodes()]
        wasBlocked = self.ui.resectionsListWidget.blockSignals(True)
        self.ui.resectionsListWidget.clear()
        self.ui.resectionsListWidget.addItems(names)
        self.ui.resectionsListWidget.blockSignals(wasBlocked)
        self.ui.removeResectionButton.enabled = self.ui.savePlanButton.enabled = bool(names)

    def onResult(self, result: dict | None) -> None:
        self.ui.resectionStatusLabel.text = status_text(result, self.resection.error)
        self.showResections()

    def run(self, action: Callable[[], object]) -> None:
        """Do what a button asks; a problem (a missing segment, a bad plan file) shows in the status line."""
        try:
            with slicer.util.WaitCursor():
                action()
        except FLRSegError as error:
            self.ui.resectionStatusLabel.text = str(error)
        self.showResections()

    def onRemove(self) -> None:
        row = self.ui.resectionsListWidget.currentRow
        nodes = self.resection.resection_nodes()
        if 0 <= row < len(nodes):
            self.run(lambda: self.resection.remove(nodes[row]))

    def onSave(self) -> None:
        import qt

        path = qt.QFileDialog.getSaveFileName(None, "Save resection plan", "resection plan.json", PLAN_FILTER)
        if path:
            self.run(lambda: self.resection.save_plan(Path(path)))

    def onLoad(self) -> None:
        import qt

        path = qt.QFileDialog.getOpenFileName(None, "Load resection plan", "", PLAN_FILTER)
        if path:
            self.run(lambda: self.resection.load_plan(Path(path)))
