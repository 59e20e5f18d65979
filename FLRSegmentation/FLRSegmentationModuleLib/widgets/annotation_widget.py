"""The module's annotation section: step through a dataset, pre-label with the AI, correct, save back safely.

Thin: it binds its own .ui (Resources/UI/FLRSegmentationAnnotation.ui) to AnnotationSession and the dataset, where
all the logic and every safety rule live. It asks before unsaved edits could go: when another case (or dataset) is
opened, and when the scene closes (Slicer can't cancel a scene close, so there it asks whether to save first).
Qt is imported inside methods, so this file imports headless like the rest of the module's Lib.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import slicer

from FLRSegmentationLib.annotation.dataset import open_dataset
from FLRSegmentationLib.annotation.store import STATUSES
from FLRSegmentationLib.errors import FLRSegError

from ..annotation_session import AnnotationSession
from ..process_runner import EngineOptions, FinishedEvent, ProgressEvent, default_python
from .path_binding import PathBinding

UI_FILE = Path(__file__).resolve().parents[2] / "Resources/UI/FLRSegmentationAnnotation.ui"
ANNOTATOR_SETTING = "FLRSegmentation/Annotator"
ALL_CASES = "all cases"
COLUMNS = ("Case", "Status", "Minutes", "Notes")
POLL_INTERVAL_MS = 200


def summary_text(summary: dict) -> str:
    """'12 cases: 3 not started, 5 pre-labelled, 2 corrected, 2 verified; 1.5 h spent'."""
    counts = ", ".join(f"{summary['by_status'][status]} {status}" for status in STATUSES)
    return f"{summary['cases']} cases: {counts}; {summary['seconds_spent'] / 3600:.1f} h spent"


def quietly(widget, change: Callable[[], None]) -> None:
    """Change a widget without its signals: showing a stored value must not store it again."""
    wasBlocked = widget.blockSignals(True)
    try:
        change()
    finally:
        widget.blockSignals(wasBlocked)


def case_row(case, status: str, record: dict) -> tuple[str, str, str, str]:
    """The table's cells for one case: id, status, minutes spent, the first line of its notes."""
    return case.id, status, f"{record['seconds_spent'] / 60:.0f}", record["notes"].split("\n", 1)[0]


class AnnotationSection:
    """The pre-label uses the module's choices: engineOptions() gives the model, strategy, device and fast flag as
    the run section would use them (None when the user declines installing what is missing). ensureDependencies()
    installs what reading and writing labels needs (e.g. pynrrd) before a dataset opens; False when declined."""

    def __init__(self, parentLayout, engineOptions: Callable[[], EngineOptions | None],
                 ensureDependencies: Callable[[], bool]):
        import qt

        self.engineOptions, self.ensureDependencies = engineOptions, ensureDependencies
        self.session: AnnotationSession | None = None
        widget = slicer.util.loadUI(str(UI_FILE))
        parentLayout.addWidget(widget)
        self.ui = slicer.util.childWidgetVariables(widget)
        self.ui.annotatorLineEdit.text = qt.QSettings().value(ANNOTATOR_SETTING, qt.QDir.home().dirName())
        self.ui.statusFilterComboBox.addItems([ALL_CASES, *STATUSES])
        self.ui.casesTableWidget.setColumnCount(len(COLUMNS))
        self.ui.casesTableWidget.setHorizontalHeaderLabels(list(COLUMNS))
        self.timer = qt.QTimer()
        self.timer.setInterval(POLL_INTERVAL_MS)
        self.timer.timeout.connect(self.onTimer)
        self.datasetPath = PathBinding(self.ui.datasetPathLineEdit, self.ui.datasetBrowseButton, self.onDatasetChosen)
        self.ui.annotatorLineEdit.editingFinished.connect(self.onAnnotatorChanged)
        self.ui.statusFilterComboBox.currentIndexChanged.connect(lambda index: self.refresh())
        self.ui.casesTableWidget.cellDoubleClicked.connect(lambda row, column: self.onOpenSelected())
        self.ui.openCaseButton.clicked.connect(self.onOpenSelected)
        self.ui.previousCaseButton.clicked.connect(lambda: self.onStep(-1))
        self.ui.nextCaseButton.clicked.connect(lambda: self.onStep(1))
        self.ui.prelabelButton.clicked.connect(self.onPrelabel)
        self.ui.editCaseButton.clicked.connect(self.onEdit)
        self.ui.saveCaseButton.clicked.connect(self.onSave)
        self.ui.verifiedCheckBox.toggled.connect(self.onVerified)
        self.ui.notesTextEdit.textChanged.connect(self.onNotesChanged)
        self.sceneObserver = slicer.mrmlScene.AddObserver(slicer.vtkMRMLScene.StartCloseEvent,
                                                          self.onSceneStartClose)
        self.refresh()

    def cleanup(self) -> None:
        self.timer.stop()
        slicer.mrmlScene.RemoveObserver(self.sceneObserver)
        if self.session:
            self.session.cancel_prelabel()

    # ---- asking before edits could be lost

    def mayLeaveCase(self) -> bool:
        """True when the open case has no unsaved edits, or the user saved or discarded them."""
        import qt

        if not (self.session and self.session.has_unsaved_edits()):
            return True
        buttons = qt.QMessageBox.Save | qt.QMessageBox.Discard | qt.QMessageBox.Cancel
        answer = qt.QMessageBox.question(None, "Unsaved edits", f"Case '{self.session.case.id}' has unsaved edits. "
                                         "Save them before leaving it?", buttons, qt.QMessageBox.Save)
        if answer == qt.QMessageBox.Save:
            return self.run(self.session.save)
        return answer == qt.QMessageBox.Discard

    def onSceneStartClose(self, caller, event) -> None:
        if not self.session:
            return
        if self.session.has_unsaved_edits() and slicer.util.confirmYesNoDisplay(
                f"The scene is closing and case '{self.session.case.id}' has unsaved edits. Save them now "
                "(No discards them)?"):
            self.run(self.session.save)
        self.timer.stop()
        self.session.close_case(discard_unsaved=True)
        self.refresh()

    # ---- actions

    def onDatasetChosen(self, path: str) -> None:
        if not self.mayLeaveCase() or (path and not self.ensureDependencies()):
            self.datasetPath.show(str(self.session.dataset.root) if self.session else "")
            return
        if self.session:
            self.session.close_case(discard_unsaved=True)
            self.session = None
        try:
            if path:
                self.session = AnnotationSession(slicer.mrmlScene, open_dataset(path), self.ui.annotatorLineEdit.text)
                self.showMessage(f"{self.session.dataset.layout}: {len(self.session.dataset.cases)} cases")
        except FLRSegError as error:
            self.showMessage(str(error))
        self.refresh()

    def onAnnotatorChanged(self) -> None:
        import qt

        qt.QSettings().setValue(ANNOTATOR_SETTING, self.ui.annotatorLineEdit.text)
        if self.session:
            self.session.annotator = self.ui.annotatorLineEdit.text

    def onOpenSelected(self) -> None:
        items = self.ui.casesTableWidget.selectedItems()
        if items:
            self.openCase(self.ui.casesTableWidget.item(items[0].row(), 0).text())

    def onStep(self, step: int) -> None:
        if self.session:
            current = self.session.case.id if self.session.case else None
            caseId = self.session.dataset.neighbour(current, step, self.statusFilter())
            if caseId is None:
                self.showMessage("No further case in this list")
            else:
                self.openCase(caseId)

    def openCase(self, caseId: str) -> None:
        if not self.mayLeaveCase() or not self.run(lambda: self.session.open_case(caseId, discard_unsaved=True)):
            return
        slicer.util.setSliceViewerLayers(background=self.session.volume_node, fit=True)
        record = self.session.dataset.store.record(caseId)
        quietly(self.ui.notesTextEdit, lambda: self.ui.notesTextEdit.setPlainText(record["notes"]))
        quietly(self.ui.verifiedCheckBox, lambda: setattr(self.ui.verifiedCheckBox, "checked", record["verified"]))
        hint = "" if self.session.case.has_label else "; no label yet: press Pre-label with AI, or paint one"
        self.showMessage(f"Opened {caseId}{hint}")
        self.refresh()

    def onPrelabel(self) -> None:
        def start():
            options = self.engineOptions()
            if options is not None:
                self.session.start_prelabel(options, default_python())
                self.ui.prelabelProgressBar.value = 0
                self.timer.start()
                self.showMessage("Pre-labelling in the background...")

        self.run(start)
        self.refresh()

    def onTimer(self) -> None:
        for event in self.session.poll_prelabel() if self.session else []:
            if isinstance(event, ProgressEvent):
                self.ui.prelabelProgressBar.value = int(100 * event.fraction)
            elif isinstance(event, FinishedEvent):
                self.timer.stop()
                self.showMessage(event.message)
                self.refresh()

    def onEdit(self) -> None:
        slicer.util.selectModule("SegmentEditor")
        editor = slicer.modules.SegmentEditorWidget.editor
        editor.setSegmentationNode(self.session.segmentation_node)
        setSource = getattr(editor, "setSourceVolumeNode", None) or editor.setMasterVolumeNode  # renamed in 5.2
        setSource(self.session.volume_node)

    def onSave(self) -> None:
        def save():
            entry = self.session.save()
            kept = "; previous version kept" if entry["previous_version"] else ""
            self.showMessage(f"Saved {entry['label']}: {entry['voxels_changed']} voxels changed{kept}")

        self.run(save)
        self.refresh()

    def onVerified(self, checked: bool) -> None:
        if not self.run(lambda: self.session.set_verified(checked)):
            quietly(self.ui.verifiedCheckBox, lambda: setattr(self.ui.verifiedCheckBox, "checked", not checked))
        self.refresh()

    def onNotesChanged(self) -> None:
        if self.session and self.session.case:
            self.run(lambda: self.session.set_notes(self.ui.notesTextEdit.toPlainText()))

    # ---- display

    def run(self, action) -> bool:
        """Do `action`; a refused input or a file error shows as one line, never a traceback."""
        try:
            action()
        except (FLRSegError, OSError) as error:
            self.showMessage(str(error))
            return False
        return True

    def showMessage(self, text: str) -> None:
        self.ui.caseMessageLabel.text = text

    def statusFilter(self) -> str | None:
        text = self.ui.statusFilterComboBox.currentText
        return None if text == ALL_CASES else text

    def refresh(self) -> None:
        """The case table, the summary and which buttons apply."""
        import qt

        session = self.session
        table = self.ui.casesTableWidget
        rows, summary = [], ""
        try:
            if session:
                rows = [case_row(case, status, session.dataset.store.record(case.id))
                        for case, status in session.dataset.worklist(self.statusFilter())]
                summary = summary_text(session.dataset.summary())
        except FLRSegError as error:  # e.g. a damaged sidecar: named, and the list stays empty until fixed
            self.showMessage(str(error))
        table.setRowCount(len(rows))
        for row, cells in enumerate(rows):
            for column, text in enumerate(cells):
                table.setItem(row, column, qt.QTableWidgetItem(text))
            if session.case and cells[0] == session.case.id:
                table.selectRow(row)
        self.ui.summaryLabel.text = summary
        opened = bool(session and session.case)
        idle = not (session and session.job)
        for widget in (self.ui.previousCaseButton, self.ui.nextCaseButton, self.ui.openCaseButton):
            widget.enabled = bool(session) and idle
        self.ui.prelabelButton.enabled = opened and idle and not session.case.has_label
        for widget in (self.ui.editCaseButton, self.ui.saveCaseButton, self.ui.verifiedCheckBox,
                       self.ui.notesTextEdit):
            widget.enabled = opened
