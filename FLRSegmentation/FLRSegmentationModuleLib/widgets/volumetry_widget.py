"""The module's FLR volumetry section: patient values, the live table and chart, and the exports.

GUI only: VolumetryResults measures, keeps the table and chart up to date with the user's edits and writes the
exports; this file binds the patient fields, shows the table and chart, and captures the 3D view for the report.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

import qt
import slicer

from FLRSegmentationLib.errors import FLRSegError

from ..results_chart import chart_view_node
from ..volumetry_results import BSA_TITLES, CONDITION_TITLES, NORMAL_THRESHOLD_TITLES
from ..volumetry_table import DEBOUNCE_MS
from ..volumetry_warnings import BOX_STYLE, warning_box_html
from .combo_binding import ComboBinding

EXPORT_FILTERS = {"csv": "CSV table (*.csv)", "json": "JSON (*.json)", "html": "One-page report (*.html)"}


class VolumetrySection:
    def __init__(self, ui, logic, parameterNode):
        self.ui, self.logic, self.parameterNode = ui, logic, parameterNode
        self.combos = [ComboBinding(ui.bsaFormulaComboBox, "bsaFormula", BSA_TITLES, parameterNode),
                       ComboBinding(ui.conditionComboBox, "condition", CONDITION_TITLES, parameterNode),
                       ComboBinding(ui.normalThresholdComboBox, "normalThreshold", NORMAL_THRESHOLD_TITLES,
                                    parameterNode)]
        self.plotWidget = slicer.qMRMLPlotWidget()
        self.plotWidget.setMRMLScene(slicer.mrmlScene)
        self.plotWidget.setMRMLPlotViewNode(chart_view_node(slicer.mrmlScene))
        ui.chartContainer.layout().addWidget(self.plotWidget)
        self.warningBox = self.addWarningBox(ui.volumetryTableView)
        if logic.volumetry.on_update is None:
            logic.volumetry.on_update = self.showWarnings
        for kind, button in (("csv", ui.exportCsvButton), ("json", ui.exportJsonButton),
                             ("html", ui.exportHtmlButton)):
            button.clicked.connect(lambda kind=kind: self.onExport(kind))

    def updateGUI(self, params) -> None:
        for combo in self.combos:
            combo.show(params)
        self.ui.normalThresholdComboBox.enabled = params.condition == "normal"
        volumetry = self.logic.volumetry
        volumetry.follow(params.outputSegmentation, self.logic.patientValues(params))
        self.ui.volumetryTableView.setMRMLTableNode(volumetry.table_node)
        for button in (self.ui.exportCsvButton, self.ui.exportJsonButton, self.ui.exportHtmlButton):
            button.enabled = volumetry.table_node is not None

    @staticmethod
    def addWarningBox(table_view):
        """A label above the results table, hidden while there is nothing to warn about."""
        box = qt.QLabel()
        box.wordWrap = True
        box.setStyleSheet(BOX_STYLE)
        box.textInteractionFlags = qt.Qt.TextSelectableByMouse
        box.visible = False
        layout = table_view.parentWidget().layout()
        layout.insertWidget(layout.indexOf(table_view), box)
        return box

    def showWarnings(self) -> None:
        live = self.logic.volumetry.live
        text = warning_box_html(live.result if live else None)
        self.warningBox.text = text
        self.warningBox.visible = bool(text)

    def onExport(self, kind: str) -> None:
        node = self.logic.volumetry.segmentation_node
        suggested = f"{node.GetName()} FLR volumetry.{kind}"
        path = qt.QFileDialog.getSaveFileName(None, "Export FLR volumetry", suggested, EXPORT_FILTERS[kind])
        if not path:
            return
        try:
            with tempfile.TemporaryDirectory(prefix="FLRSegmentation-") as folder:
                screenshot = self.capture3DView(Path(folder) / "3d.png") if kind == "html" else None
                self.logic.volumetry.export(kind, Path(path), screenshot)
        except FLRSegError as error:
            self.ui.volumetryStatusLabel.text = str(error)
            return
        self.ui.volumetryStatusLabel.text = f"Written {path}"

    @staticmethod
    def capture3DView(path: Path) -> Path | None:
        """A PNG of the first 3D view, for the report; None when the layout shows no 3D view."""
        layoutManager = slicer.app.layoutManager()
        if layoutManager is None or layoutManager.threeDViewCount == 0:
            return None
        import ScreenCapture

        ScreenCapture.ScreenCaptureLogic().captureImageFromView(layoutManager.threeDWidget(0).threeDView(), str(path))
        return path


def qt_scheduler(callback: Callable[[], None], delay_ms: int = DEBOUNCE_MS):
    """Slicer's scheduler for LiveVolumetry: a single-shot QTimer, restarted by each start()."""
    timer = qt.QTimer()
    timer.setSingleShot(True)
    timer.setInterval(delay_ms)
    timer.connect("timeout()", callback)
    return timer
