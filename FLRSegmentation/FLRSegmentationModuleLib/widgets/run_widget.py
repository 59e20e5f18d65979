"""The module's run section: inputs, Apply/Cancel, progress, log and result, bound to the parameter node.

GUI only: starting, polling and cancelling are ModuleLogic's; this file turns clicks into calls and events into
the progress bar, the status line and the log.
"""

from __future__ import annotations

import qt
import slicer

from FLRSegmentationLib.errors import FLRSegError

from .. import dependencies
from ..device_choice import DEVICE_TITLES
from ..module_logic import STRATEGY_TITLES, RunRequest, run_error_message
from ..process_runner import FinishedEvent, LogEvent, ProgressEvent, RunStatus
from ..volumetry_results import model_text
from .combo_binding import ComboBinding

POLL_INTERVAL_MS = 200


class RunSection:
    def __init__(self, ui, logic, parameterNode):
        self.ui, self.logic, self.parameterNode = ui, logic, parameterNode
        self.runParameters = None  # the parameter node the running job reports its result to
        self.model = ComboBinding(ui.modelComboBox, "modelId", {}, parameterNode)
        self.strategy = ComboBinding(ui.strategyComboBox, "strategy", STRATEGY_TITLES, parameterNode)
        self.device = ComboBinding(ui.deviceComboBox, "device", DEVICE_TITLES, parameterNode)
        self.timer = qt.QTimer()
        self.timer.setInterval(POLL_INTERVAL_MS)
        self.timer.timeout.connect(self.onTimer)
        self.deviceTimer = qt.QTimer()  # refreshes the device note once the background device check has answered
        self.deviceTimer.setInterval(POLL_INTERVAL_MS)
        self.deviceTimer.timeout.connect(self.onDeviceTimer)
        ui.applyButton.clicked.connect(self.onApplyOrCancel)
        ui.editInSegmentEditorButton.clicked.connect(self.onEditInSegmentEditor)

    def setModels(self, models) -> None:
        """The installed models to choose from (the model manager calls this after each change)."""
        self.model.setChoices({m.id: m.display_name() for m in models if m.installed})
        params = self.parameterNode()
        if params is not None:
            self.updateGUI(params)

    def updateGUI(self, params) -> None:
        self.strategy.setChoices({s: STRATEGY_TITLES[s] for s in self.logic.strategies(params.modelId)})
        for binding in (self.model, self.strategy, self.device):
            binding.show(params)
        self.ui.deviceNoteLabel.text = self.logic.device_note(params.device, params.inputVolume, params.modelId,
                                                              params.fast)
        if self.logic.devices.running and not self.deviceTimer.isActive():
            self.deviceTimer.start()
        running = self.logic.running
        self.ui.applyButton.text = "Cancel" if running else "Apply"
        self.ui.applyButton.enabled = running or bool(params.inputVolume and self.ui.modelComboBox.count)
        self.ui.editInSegmentEditorButton.enabled = bool(params.outputSegmentation and params.inputVolume)
        self.ui.modelUsedLabel.text = model_text(params.outputSegmentation) if params.outputSegmentation else ""

    def onApplyOrCancel(self) -> None:
        if self.logic.running:
            self.cancel()
            return
        if not self.ensureDependencies():
            return
        params = self.parameterNode()
        self.ui.logTextEdit.clear()
        self.ui.progressBar.value = 0
        try:
            self.logic.start(RunRequest(params.inputVolume, params.modelId, params.strategy, params.device,
                                        params.fast))
        except (FLRSegError, OSError) as error:  # bad input, or PythonSlicer could not start
            self.ui.statusLabel.text = run_error_message(error)
            return
        self.runParameters = params
        self.ui.statusLabel.text = "Starting the segmentation in the background..."
        self.timer.start()
        self.updateGUI(params)

    def engineOptions(self):
        """The module's model, strategy, device and Fast choices, for the annotator's pre-label; None when the user
        declines installing what is missing; FLRSegError (one line) when the model can't run that way."""
        if not self.ensureDependencies():
            return None
        params = self.parameterNode()
        return self.logic.engine_options(params.modelId, params.strategy, params.device, params.fast)

    def ensureDependencies(self) -> bool:
        missing = dependencies.what_is_missing()
        if not missing:
            return True
        if not slicer.util.confirmOkCancelDisplay(f"FLR Segmentation needs to install: {', '.join(missing)}. "
                                                  "This can take several minutes. Install now?"):
            self.ui.statusLabel.text = dependencies.install_instructions(missing)
            return False
        try:
            with slicer.util.WaitCursor():
                dependencies.install_missing(slicer)
        except FLRSegError as error:
            self.ui.statusLabel.text = str(error)
            return False
        finally:
            self.logic.devices.restart()  # PyTorch may be there now
        return True

    def onDeviceTimer(self) -> None:
        params = self.parameterNode()
        if not self.logic.devices.running:
            self.deviceTimer.stop()
            if params is not None:
                self.updateGUI(params)

    def onTimer(self) -> None:
        for event in self.logic.poll():
            if isinstance(event, ProgressEvent):
                self.ui.progressBar.value = int(100 * event.fraction)
                self.ui.statusLabel.text = event.message
            elif isinstance(event, LogEvent):
                self.ui.logTextEdit.appendPlainText(event.text)
            elif isinstance(event, FinishedEvent):
                if event.status is RunStatus.SUCCEEDED:
                    self.runParameters.outputSegmentation = self.logic.segmentation_node
                self.showFinished(event)

    def showFinished(self, event: FinishedEvent) -> None:
        self.timer.stop()
        self.ui.statusLabel.text = event.message
        if event.status is RunStatus.FAILED:
            self.ui.logCollapsibleButton.collapsed = False
        self.ui.progressBar.value = 100 if event.status is RunStatus.SUCCEEDED else 0
        params = self.parameterNode()
        if params is not None:
            self.updateGUI(params)

    def onEditInSegmentEditor(self) -> None:
        params = self.parameterNode()
        slicer.util.selectModule("SegmentEditor")
        editor = slicer.modules.SegmentEditorWidget.editor
        editor.setSegmentationNode(params.outputSegmentation)
        setSource = getattr(editor, "setSourceVolumeNode", None) or editor.setMasterVolumeNode  # renamed in 5.2
        setSource(params.inputVolume)

    def cancel(self) -> None:
        """End a running job (the scene closes, the module is unloaded, or the user pressed Cancel)."""
        finished = self.logic.cancel()
        if finished is not None:
            self.showFinished(finished)
        self.timer.stop()
        self.deviceTimer.stop()
