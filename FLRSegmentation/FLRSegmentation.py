"""FLR Segmentation: Liver, CRLM and future liver remnant from a CT, in the background, as editable segments.

This file only binds the GUI to the logic; the work is in FLRSegmentationModuleLib (Slicer side) and
FLRSegmentationLib (the engine, which runs in a separate PythonSlicer process).
"""

import json
import math
import os
import time
from pathlib import Path
from typing import Annotated

import qt
import slicer
import vtk
from slicer.parameterNodeWrapper import Choice, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (ScriptedLoadableModule, ScriptedLoadableModuleLogic,
                                           ScriptedLoadableModuleTest, ScriptedLoadableModuleWidget)
from slicer.util import VTKObservationMixin

from FLRSegmentationLib.errors import FLRSegError
from FLRSegmentationModuleLib import dependencies
from FLRSegmentationModuleLib.device_choice import DEVICE_TITLES, CpuTiming, cuda_available, device_note
from FLRSegmentationModuleLib.model_manager import ModelManager, bundled_registry_file
from FLRSegmentationModuleLib.process_runner import (EngineOptions, FinishedEvent, LogEvent, ProgressEvent,
                                                     RunStatus, default_python)
from FLRSegmentationModuleLib.segmentation_job import SegmentationJob

MODULE_DIR = Path(__file__).resolve().parent
STRATEGY_TITLES = {"cascade": "Cascade (liver, CRLM, FLR)", "e2e": "End-to-end"}
POLL_INTERVAL_MS = 200


class FLRSegmentation(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        parent.title = "FLR Segmentation"
        parent.categories = ["Segmentation"]
        parent.contributors = ["FLR Segmentation developers"]
        parent.helpText = ("Segments the liver, colorectal liver metastases (CRLM) and the future liver remnant (FLR) "
                           "in a portal-venous CT and reports FLR %. The demo models are not for clinical use.")
        parent.acknowledgementText = "Built on nnU-Net v2 and 3D Slicer."


@parameterNodeWrapper
class FLRSegmentationParameterNode:
    inputVolume: slicer.vtkMRMLScalarVolumeNode
    modelId: str = "demo-phantom"
    strategy: Annotated[str, Choice(["cascade", "e2e"])] = "cascade"
    device: Annotated[str, Choice(list(DEVICE_TITLES))] = "auto"
    fast: bool = False
    outputSegmentation: slicer.vtkMRMLSegmentationNode


class FLRSegmentationWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None):
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._guiObserver = None
        self.timer = qt.QTimer()
        self.timer.setInterval(POLL_INTERVAL_MS)

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/FLRSegmentation.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = FLRSegmentationLogic()
        self.timer.timeout.connect(self.onTimer)
        self.ui.applyButton.clicked.connect(self.onApplyOrCancel)
        self.ui.editInSegmentEditorButton.clicked.connect(self.onEditInSegmentEditor)
        for combo, name in ((self.ui.modelComboBox, "modelId"), (self.ui.strategyComboBox, "strategy"),
                            (self.ui.deviceComboBox, "device")):
            combo.currentIndexChanged.connect(lambda index, combo=combo, name=name: self.onComboChanged(combo, name))
        self.ui.modelsFolderPathLineEdit.currentPath = str(self.logic.models.models_folder)
        self.ui.modelsFolderPathLineEdit.currentPathChanged.connect(self.onModelsFolderChanged)
        self.ui.modelsTableWidget.itemSelectionChanged.connect(self.onModelSelected)
        self.ui.downloadModelButton.clicked.connect(self.onDownloadModel)
        self.ui.installFromFileButton.clicked.connect(lambda: self.onInstallModel(folder=False))
        self.ui.installFromFolderButton.clicked.connect(lambda: self.onInstallModel(folder=True))
        self.ui.removeModelButton.clicked.connect(self.onRemoveModel)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.fillCombo(self.ui.deviceComboBox, DEVICE_TITLES)
        self.refreshModels()
        self.initializeParameterNode()

    def cleanup(self):
        self.logic.cancel()
        self.timer.stop()
        self.removeObservers()

    def enter(self):
        self.initializeParameterNode()

    def exit(self):
        self.setParameterNode(None)  # the run goes on in the background; the timer keeps polling it

    def onSceneStartClose(self, caller, event):
        self.logic.cancel()
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event):
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self):
        node = self.logic.getParameterNode()
        if not node.inputVolume:
            node.inputVolume = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
        self.setParameterNode(node)

    def setParameterNode(self, node):
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._guiObserver)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.updateGUI)
        self._parameterNode = node
        if node:
            self._guiObserver = node.connectGui(self.ui)
            self.addObserver(node, vtk.vtkCommand.ModifiedEvent, self.updateGUI)
            self.updateGUI()

    def fillCombo(self, combo, titles: dict):
        wasBlocked = combo.blockSignals(True)
        combo.clear()
        for value, title in titles.items():
            combo.addItem(title, value)
        combo.blockSignals(wasBlocked)

    def onComboChanged(self, combo, name):
        if self._parameterNode and combo.currentIndex >= 0:
            setattr(self._parameterNode, name, combo.currentData)

    def updateGUI(self, caller=None, event=None):
        params = self._parameterNode
        if not params:
            return
        self.fillCombo(self.ui.strategyComboBox, {s: STRATEGY_TITLES[s] for s in self.logic.strategies(params)})
        for combo, value in ((self.ui.modelComboBox, params.modelId), (self.ui.strategyComboBox, params.strategy),
                             (self.ui.deviceComboBox, params.device)):
            wasBlocked = combo.blockSignals(True)
            combo.setCurrentIndex(combo.findData(value))
            combo.blockSignals(wasBlocked)
        self.ui.deviceNoteLabel.text = self.logic.deviceNote(params)
        running = self.logic.job is not None
        self.ui.applyButton.text = "Cancel" if running else "Apply"
        self.ui.applyButton.enabled = running or bool(params.inputVolume and self.ui.modelComboBox.count)
        self.ui.editInSegmentEditorButton.enabled = bool(params.outputSegmentation and params.inputVolume)

    def onApplyOrCancel(self):
        if self.logic.job is not None:
            self.showFinished(self.logic.cancel())
            return
        if not self.ensureDependencies():
            return
        self.ui.logTextEdit.clear()
        self.ui.progressBar.value = 0
        try:
            self.logic.start(self._parameterNode)
        except (FLRSegError, OSError) as exc:  # bad input, or PythonSlicer could not start
            self.ui.statusLabel.text = str(exc)
            return
        self.ui.statusLabel.text = "Starting the segmentation in the background..."
        self.timer.start()
        self.updateGUI()

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
        except FLRSegError as exc:
            self.ui.statusLabel.text = str(exc)
            return False
        return True

    def onTimer(self):
        for event in self.logic.poll():
            if isinstance(event, ProgressEvent):
                self.ui.progressBar.value = int(100 * event.fraction)
                self.ui.statusLabel.text = event.message
            elif isinstance(event, LogEvent):
                self.ui.logTextEdit.appendPlainText(event.text)
            elif isinstance(event, FinishedEvent):
                self.showFinished(event)

    def showFinished(self, event):
        self.timer.stop()
        self.ui.statusLabel.text = event.message
        if event.status is RunStatus.FAILED:
            self.ui.logCollapsibleButton.collapsed = False
        self.ui.progressBar.value = 100 if event.status is RunStatus.SUCCEEDED else 0
        self.updateGUI()

    def onEditInSegmentEditor(self):
        params = self._parameterNode
        slicer.util.selectModule("SegmentEditor")
        editor = slicer.modules.SegmentEditorWidget.editor
        editor.setSegmentationNode(params.outputSegmentation)
        setSource = getattr(editor, "setSourceVolumeNode", None) or editor.setMasterVolumeNode  # renamed in 5.2
        setSource(params.inputVolume)

    def refreshModels(self):
        try:
            models = self.logic.models.models()
        except FLRSegError as exc:  # a damaged registry
            self.ui.modelDetailsLabel.text = str(exc)
            models = []
        self.fillCombo(self.ui.modelComboBox, {m.id: m.display_name() for m in models if m.installed})
        table = self.ui.modelsTableWidget
        headers = ["Model", "Version", "Stages", "License", "Size", "State"]
        table.setColumnCount(len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.setRowCount(len(models))
        for row, info in enumerate(models):
            size = f"{info.size_bytes / 1e6:.1f} MB" if info.size_bytes else "?"
            state = "bundled" if info.bundled else "installed" if info.installed else "not installed"
            stages = "; ".join(f"{s}: {', '.join(n)}" for s, n in info.strategies.items())
            for column, text in enumerate((info.display_name(), info.version, stages, info.license, size, state)):
                item = qt.QTableWidgetItem(text)
                item.setData(qt.Qt.UserRole, info.id)
                table.setItem(row, column, item)
        table.resizeColumnsToContents()
        self.updateGUI()

    def selectedModelId(self):
        items = self.ui.modelsTableWidget.selectedItems()
        return items[0].data(qt.Qt.UserRole) if items else None

    def onModelSelected(self):
        modelId = self.selectedModelId()
        info = self.logic.models.model(modelId) if modelId else None
        self.ui.modelDetailsLabel.text = f"Citation: {info.citation or 'none given'}" if info else ""
        self.ui.downloadModelButton.enabled = bool(info and info.url)
        self.ui.removeModelButton.enabled = bool(info and info.installed and not info.bundled)

    def onModelsFolderChanged(self, path):
        self.logic.setModelsFolder(path)
        self.refreshModels()

    def runModelAction(self, action, done: str):
        """Model actions are short or show their own progress; a refused package is one line in the module."""
        try:
            with slicer.util.WaitCursor():
                action()
        except FLRSegError as exc:
            self.ui.modelDetailsLabel.text = str(exc)
            return
        self.refreshModels()
        self.ui.modelDetailsLabel.text = done

    def onDownloadModel(self):
        modelId = self.selectedModelId()

        def progress(done, total):
            self.ui.progressBar.value = int(100 * done / total) if total else 0
            slicer.app.processEvents()

        self.runModelAction(lambda: self.logic.models.download(modelId, progress), f"Downloaded and verified {modelId}")

    def onInstallModel(self, folder: bool):
        if folder:
            path = qt.QFileDialog.getExistingDirectory(None, "Model package folder")
        else:
            path = qt.QFileDialog.getOpenFileName(None, "Model package", "", "Model package (*.zip)")
        if path:
            self.runModelAction(lambda: self.logic.models.install(Path(path)), f"Installed and verified {path}")

    def onRemoveModel(self):
        modelId = self.selectedModelId()
        if modelId and slicer.util.confirmOkCancelDisplay(f"Remove the model '{modelId}' from this computer?"):
            self.runModelAction(lambda: self.logic.models.remove(modelId), f"Removed {modelId}")


class FLRSegmentationLogic(ScriptedLoadableModuleLogic):
    """Starts, polls and cancels one segmentation job; owns the model manager and the per-computer settings."""

    SETTINGS = "FLRSegmentation/"

    def __init__(self):
        ScriptedLoadableModuleLogic.__init__(self)
        self.job = None
        self.jobParameters = None
        self.lastReport = None
        self.models = ModelManager(bundled_registry_file(MODULE_DIR), self.modelsFolder())

    def getParameterNode(self):
        return FLRSegmentationParameterNode(super().getParameterNode())

    def modelsFolder(self) -> Path:
        default = Path(os.path.dirname(slicer.app.slicerUserSettingsFilePath)) / "FLRSegmentation" / "Models"
        return Path(qt.QSettings().value(self.SETTINGS + "ModelsFolder", str(default)))

    def setModelsFolder(self, path):
        qt.QSettings().setValue(self.SETTINGS + "ModelsFolder", str(path))
        self.models = ModelManager(self.models.registry_file, Path(path))

    def strategies(self, params) -> list:
        """The strategies the chosen model has; all when it is not installed."""
        installed = {m.id: m for m in self.models.models() if m.installed}
        info = installed.get(params.modelId)
        return [s for s in STRATEGY_TITLES if info is None or s in info.strategies]

    def lastCpuTiming(self):
        stored = qt.QSettings().value(self.SETTINGS + "LastCpuTiming")
        return CpuTiming(**json.loads(stored)) if stored else None

    def deviceNote(self, params) -> str:
        volume = params.inputVolume
        voxels = volume.GetImageData().GetNumberOfPoints() if volume and volume.GetImageData() else None
        return device_note(params.device, cuda_available(), voxels, self.lastCpuTiming())

    def start(self, params):
        """Start segmenting params.inputVolume with the installed package the parameters name."""
        if params.inputVolume is None:
            raise FLRSegError("Select a CT volume")
        info = self.models.model(params.modelId)
        if not info.installed:
            raise FLRSegError(f"The model '{params.modelId}' is not installed; install it in the Model manager")
        options = EngineOptions(str(info.path), params.strategy, params.device, params.fast)
        self.job = SegmentationJob(params.inputVolume, options, default_python())
        self.jobParameters = params

    def poll(self) -> list:
        if self.job is None:
            return []
        events = self.job.poll()
        if events and isinstance(events[-1], FinishedEvent):
            self._finish(self.job)
        return events

    def _finish(self, job):
        if job.status is RunStatus.SUCCEEDED:
            self.jobParameters.outputSegmentation = job.segmentation_node
            self.lastReport = job.report
            self._recordTiming(job)
        self.job = None

    def _recordTiming(self, job):
        if set(job.report.get("device", {}).values()) == {"cpu"}:
            timing = {"seconds": job.report["total_seconds"], "voxels": math.prod(job.report["grid"]["size"])}
            qt.QSettings().setValue(self.SETTINGS + "LastCpuTiming", json.dumps(timing))

    def cancel(self):
        """Cancel a running job (the whole process tree) and return its FinishedEvent; None when none runs."""
        if self.job is None:
            return None
        job, self.job = self.job, None
        return job.cancel()


class FLRSegmentationTest(ScriptedLoadableModuleTest):
    """Runs inside Slicer: the demo cascade on a phantom, then once on SampleData CTLiver (a real CT)."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_demo_cascade_on_phantom()
        self.setUp()
        self.test_ct_liver_sample()

    def segment(self, volume, timeout_s=3600):
        logic = FLRSegmentationLogic()
        params = logic.getParameterNode()
        params.inputVolume, params.modelId, params.strategy, params.fast = volume, "demo-phantom", "cascade", True
        logic.start(params)
        deadline = time.monotonic() + timeout_s
        events = []
        while logic.job is not None:
            self.assertLess(time.monotonic(), deadline, "the segmentation did not finish in time")
            events += logic.poll()
            slicer.app.processEvents()
            time.sleep(0.1)
        self.assertEqual(events[-1].status, RunStatus.SUCCEEDED, events[-1].message + "\n" + events[-1].details)
        return params.outputSegmentation, logic.lastReport, events

    def test_demo_cascade_on_phantom(self):
        import tempfile

        import SimpleITK as sitk
        from FLRSegmentationLib.phantom import make_phantom

        self.delayDisplay("Segmenting a phantom with the demo cascade")
        ct, _ = make_phantom(7)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "phantom.nrrd")
            sitk.WriteImage(ct, path)
            volume = slicer.util.loadVolume(path)
        segmentation, report, events = self.segment(volume)
        self.assertTrue(any(isinstance(e, ProgressEvent) for e in events))
        segments = segmentation.GetSegmentation()
        self.assertEqual([segments.GetNthSegment(i).GetName() for i in range(segments.GetNumberOfSegments())],
                         ["Liver", "CRLM", "FLR"])
        for segmentId in ("liver", "crlm", "flr"):
            self.assertGreater(slicer.util.arrayFromSegmentBinaryLabelmap(segmentation, segmentId, volume).sum(), 0)
        self.assertTrue(report["model"]["demo"])
        self.assertIn("not for clinical use", events[-1].message)
        self.assertGreater(report["liver_ml"], report["flr_ml"])
        self.assertTrue(0 < report["flr_percent"] < 100)
        self.delayDisplay("Phantom test passed")

    def test_ct_liver_sample(self):
        import SampleData

        self.delayDisplay("Segmenting SampleData CTLiver (real portal-venous CT)")
        volume = SampleData.SampleDataLogic().downloadSample("CTLiver")
        segmentation, report, _ = self.segment(volume)
        self.assertEqual(segmentation.GetSegmentation().GetNumberOfSegments(), 3)
        self.assertEqual(report["grid"]["size"], list(volume.GetImageData().GetDimensions()))
        self.assertTrue(segmentation.GetName().startswith("CTLiver FLR segmentation"))
        self.delayDisplay("CTLiver test passed")
