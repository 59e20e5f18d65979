"""FLR Segmentation: Liver, CRLM and future liver remnant from a CT, in the background, as editable segments, with
FLR volumetry that follows the edits.

This file only binds the GUI to the parameter node and the logic. The work is in FLRSegmentationModuleLib (the
Slicer side, tested headless with slicer-core; its widgets/ subpackage holds the GUI sections) and
FLRSegmentationLib (the engine, which runs in a separate PythonSlicer process).
"""

from pathlib import Path
from typing import Annotated

import slicer
import vtk
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (ScriptedLoadableModule, ScriptedLoadableModuleLogic,
                                           ScriptedLoadableModuleTest, ScriptedLoadableModuleWidget)
from slicer.util import VTKObservationMixin

from FLRSegmentationLib.volumetry.body_size import BSA_FORMULAS, HEIGHT_RANGE_CM, WEIGHT_RANGE_KG
from FLRSegmentationLib.volumetry.flr_thresholds import CONDITIONS, NORMAL_THRESHOLDS
from FLRSegmentationLib.volumetry.pve_follow_up import MAX_WEEKS
from FLRSegmentationModuleLib.device_choice import DEVICES
from FLRSegmentationModuleLib.module_logic import STRATEGY_TITLES, ModuleLogic, RunRequest
from FLRSegmentationModuleLib.module_settings import ModuleSettings
from FLRSegmentationModuleLib.process_runner import ProgressEvent, RunStatus
from FLRSegmentationModuleLib.resection_logic import ResectionLogic
from FLRSegmentationModuleLib.volumetry_results import PatientValues, VolumetryResults
from FLRSegmentationModuleLib.widgets.annotation_widget import AnnotationSection
from FLRSegmentationModuleLib.widgets.models_widget import ModelsSection
from FLRSegmentationModuleLib.widgets.pve_widget import PveSection
from FLRSegmentationModuleLib.widgets.resection_widget import ResectionSection
from FLRSegmentationModuleLib.widgets.run_widget import RunSection
from FLRSegmentationModuleLib.widgets.volumetry_widget import VolumetrySection, qt_scheduler

MODULE_DIR = Path(__file__).resolve().parent


class FLRSegmentation(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        parent.title = "FLR Segmentation"
        parent.categories = ["Segmentation"]
        parent.contributors = ["FLR Segmentation developers"]
        parent.helpText = ("Segments the liver, colorectal liver metastases (CRLM) and the future liver remnant (FLR) "
                           "in a portal-venous CT and reports FLR % and sFLR against the minimum for the liver's "
                           "condition. The demo models are not for clinical use.")
        parent.acknowledgementText = "Built on nnU-Net v2 and 3D Slicer."


@parameterNodeWrapper
class FLRSegmentationParameterNode:
    inputVolume: slicer.vtkMRMLScalarVolumeNode
    modelId: str = "demo-phantom"
    strategy: Annotated[str, Choice(list(STRATEGY_TITLES))] = "cascade"
    device: Annotated[str, Choice(list(DEVICES))] = "auto"
    fast: bool = False
    outputSegmentation: slicer.vtkMRMLSegmentationNode
    heightCm: Annotated[float, WithinRange(0.0, HEIGHT_RANGE_CM[1])] = 0.0  # 0: not given (the spin box says so)
    weightKg: Annotated[float, WithinRange(0.0, WEIGHT_RANGE_KG[1])] = 0.0
    bsaFormula: Annotated[str, Choice(list(BSA_FORMULAS))] = "mosteller"
    condition: Annotated[str, Choice(list(CONDITIONS))] = "normal"
    normalThreshold: Annotated[float, Choice(list(NORMAL_THRESHOLDS))] = NORMAL_THRESHOLDS[0]
    pveBefore: slicer.vtkMRMLSegmentationNode
    pveAfter: slicer.vtkMRMLSegmentationNode
    pveWeeks: Annotated[float, WithinRange(0.0, MAX_WEEKS)] = 3.0


class FLRSegmentationWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None):
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._guiObserver = None

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/FLRSegmentation.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = FLRSegmentationLogic()
        self.run = RunSection(self.ui, self.logic.moduleLogic, self.parameterNode)
        self.sections = [self.run, VolumetrySection(self.ui, self.logic, self.parameterNode),
                         PveSection(self.ui, self.logic, self.parameterNode)]
        self.models = ModelsSection(self.ui, self.logic.moduleLogic, self.run.setModels)
        self.sections.append(ResectionSection(self.layout, self.logic))
        self.annotation = AnnotationSection(self.layout, self.run.engineOptions, self.run.ensureDependencies)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.initializeParameterNode()

    def cleanup(self):
        self.run.cancel()
        self.models.cancel()
        self.annotation.cleanup()
        self.logic.volumetry.close()
        self.logic.resection.close()
        self.removeObservers()

    def enter(self):
        self.initializeParameterNode()

    def exit(self):
        self.setParameterNode(None)  # a run goes on in the background, the results keep following edits

    def onSceneStartClose(self, caller, event):
        self.run.cancel()
        self.logic.volumetry.close()
        self.logic.resection.close()
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event):
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self):
        node = self.logic.getParameterNode()
        if not node.inputVolume:
            node.inputVolume = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
        self.setParameterNode(node)

    def parameterNode(self):
        return self._parameterNode

    def setParameterNode(self, node):
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._guiObserver)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.updateGUI)
        self._parameterNode = node
        if node:
            self._guiObserver = node.connectGui(self.ui)
            self.addObserver(node, vtk.vtkCommand.ModifiedEvent, self.updateGUI)
            self.updateGUI()

    def updateGUI(self, caller=None, event=None):
        if self._parameterNode:
            for section in self.sections:
                section.updateGUI(self._parameterNode)


class FLRSegmentationLogic(ScriptedLoadableModuleLogic):
    """Slicer's parameter node, the live FLR volumetry, and the runs, models and settings in moduleLogic.

    moduleLogic is held, not inherited: ScriptedLoadableModuleLogic.__init__ calls super().__init__(), which would
    call a second base's __init__ without its arguments.
    """

    def __init__(self):
        ScriptedLoadableModuleLogic.__init__(self)
        settings = Path(slicer.app.slicerUserSettingsFilePath).parent / "FLRSegmentation" / "settings.json"
        self.moduleLogic = ModuleLogic(MODULE_DIR, ModuleSettings(settings))
        self.volumetry = VolumetryResults(slicer.mrmlScene, qt_scheduler)
        self.resection = ResectionLogic(slicer.mrmlScene, qt_scheduler)  # the Resection section's plan

    def getParameterNode(self):
        return FLRSegmentationParameterNode(super().getParameterNode())

    @staticmethod
    def patientValues(params) -> PatientValues:
        return PatientValues(params.heightCm, params.weightKg, params.bsaFormula, params.condition,
                             params.normalThreshold)


class FLRSegmentationTest(ScriptedLoadableModuleTest):
    """Runs inside Slicer: the demo cascade on a phantom, then once on SampleData CTLiver (a real CT)."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_demo_cascade_on_phantom()
        self.setUp()
        self.test_ct_liver_sample()

    def segment(self, volume):
        logic = FLRSegmentationLogic()
        logic.moduleLogic.start(RunRequest(volume, "demo-phantom", "cascade", "auto", fast=True))
        events = logic.moduleLogic.wait(3600, slicer.app.processEvents)
        self.assertEqual(events[-1].status, RunStatus.SUCCEEDED, events[-1].message + "\n" + events[-1].details)
        return logic, events

    def test_demo_cascade_on_phantom(self):
        import tempfile

        import SimpleITK as sitk
        from FLRSegmentationLib.research.phantom import make_phantom

        self.delayDisplay("Segmenting a phantom with the demo cascade")
        with tempfile.TemporaryDirectory() as folder:
            path = str(Path(folder) / "phantom.nrrd")
            sitk.WriteImage(make_phantom(7)[0], path)
            volume = slicer.util.loadVolume(path)
        logic, events = self.segment(volume)
        self.assertTrue(any(isinstance(e, ProgressEvent) for e in events))
        segmentation, report = logic.moduleLogic.segmentation_node, logic.moduleLogic.report
        segments = segmentation.GetSegmentation()
        self.assertEqual([segments.GetNthSegment(i).GetName() for i in range(segments.GetNumberOfSegments())],
                         ["Liver", "CRLM", "FLR"])
        for segmentId in ("liver", "crlm", "flr"):
            self.assertGreater(slicer.util.arrayFromSegmentBinaryLabelmap(segmentation, segmentId, volume).sum(), 0)
        self.assertTrue(report["model"]["demo"])
        self.assertIn("not for clinical use", events[-1].message)
        self.assertGreater(report["liver_ml"], report["flr_ml"])
        self.assertTrue(0 < report["flr_percent"] < 100)
        logic.volumetry.follow(segmentation, PatientValues(170, 70))
        self.assertEqual(logic.volumetry.live.result["flr_ml"], report["flr_ml"])
        self.assertIsNotNone(logic.volumetry.live.result["sflr_percent"])
        logic.volumetry.close()
        self.delayDisplay("Phantom test passed")

    def test_ct_liver_sample(self):
        import SampleData

        self.delayDisplay("Segmenting SampleData CTLiver (real portal-venous CT)")
        volume = SampleData.SampleDataLogic().downloadSample("CTLiver")
        logic, _ = self.segment(volume)
        segmentation = logic.moduleLogic.segmentation_node
        self.assertEqual(segmentation.GetSegmentation().GetNumberOfSegments(), 3)
        self.assertEqual(logic.moduleLogic.report["grid"]["size"], list(volume.GetImageData().GetDimensions()))
        self.assertTrue(segmentation.GetName().startswith("CTLiver FLR segmentation"))
        self.delayDisplay("CTLiver test passed")
