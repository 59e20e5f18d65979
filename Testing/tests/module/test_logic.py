"""The module's Logic headless (real MRML from slicer-core, the real engine in a real background process).

One full run of the demo cascade on a phantom CT volume node, as Apply does it: a new segmentation node with the
model recorded on it, the CPU time kept for the next estimate, and the live volumetry agreeing with the engine's
report; then refusals, cancel, and the settings.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import psutil
import pytest
import SimpleITK as sitk
import slicer

from FLRSegmentationLib.errors import InputError, ModelError
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationModuleLib.model_manager import DEMO_LABEL
from FLRSegmentationModuleLib.module_logic import CPU_TIMING_KEY, ModuleLogic, RunRequest, run_error_message
from FLRSegmentationModuleLib.module_settings import ModuleSettings
from FLRSegmentationModuleLib.process_runner import EngineOptions, FinishedEvent, ProgressEvent, RunStatus
from FLRSegmentationModuleLib.segmentation_loader import recorded_model
from FLRSegmentationModuleLib.volumetry_results import PatientValues, VolumetryResults
from mrml_volumetry import ManualScheduler, table_values
from package_folders import make_package

MODULE_DIR = Path(__file__).resolve().parents[3] / "FLRSegmentation"


@pytest.fixture
def phantom_volume(scene, tmp_path):
    """A phantom CT read into a volume node by Slicer's own volume reader."""
    path = tmp_path / "phantom.nrrd"
    sitk.WriteImage(make_phantom(3)[0], str(path))
    node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "Phantom CT")
    storage = slicer.vtkMRMLVolumeArchetypeStorageNode()
    storage.SetFileName(str(path))
    assert storage.ReadData(node)
    return node


@pytest.fixture
def logic(tmp_path) -> ModuleLogic:
    return ModuleLogic(MODULE_DIR, ModuleSettings(tmp_path / "settings" / "settings.json"), python=sys.executable)


def test_demo_run_makes_a_segmentation_records_model_and_cpu_time(logic, scene, phantom_volume, demo_package):
    assert "Testing/BENCHMARKS.md" in logic.device_note("cpu", phantom_volume, "demo-phantom", True)
    nodes_before = scene.GetNumberOfNodesByClass("vtkMRMLSegmentationNode")

    logic.start(RunRequest(phantom_volume, "demo-phantom", "cascade", "cpu", fast=True))
    assert logic.running
    events = logic.wait(300)

    assert not logic.running and events[-1].status is RunStatus.SUCCEEDED, events[-1].details
    assert any(isinstance(e, ProgressEvent) for e in events) and "not for clinical use" in events[-1].message
    node = logic.segmentation_node
    assert scene.GetNumberOfNodesByClass("vtkMRMLSegmentationNode") == nodes_before + 1
    segmentation = node.GetSegmentation()
    assert [segmentation.GetNthSegment(i).GetName() for i in range(3)] == ["Liver", "CRLM", "FLR"]
    model = recorded_model(node)
    assert model["id"] == "demo-phantom" and model["demo"] is True and "not for clinical use" in model["label"]

    timing = logic.settings.get(CPU_TIMING_KEY)
    dims = phantom_volume.GetImageData().GetDimensions()
    assert (timing["model_id"], timing["fast"], timing["voxels"]) == ("demo-phantom", True, dims[0] * dims[1] * dims[2])
    assert timing["seconds"] == logic.report["total_seconds"] > 0
    assert "measured on this computer" in logic.device_note("cpu", phantom_volume, "demo-phantom", True)

    results = VolumetryResults(scene, ManualScheduler)
    results.follow(node, PatientValues())
    for key in ("liver_ml", "crlm_ml", "flr_ml", "flr_percent", "crlm_count"):
        assert results.live.result[key] == logic.report[key], key  # the node measures what the engine reported
    assert table_values(results.table_node)["FLR % (FLR / functional liver)"] == f"{logic.report['flr_percent']:.2f}"


def test_start_refuses_bad_requests_before_anything_starts(logic, scene, phantom_volume, tmp_path, demo_package):
    logic.models.install(make_package(tmp_path / "cascade-only"))  # id liver-test, cascade only
    before = scene.GetNumberOfNodes()
    with pytest.raises(InputError, match="Select a CT volume"):
        logic.start(RunRequest(None, "demo-phantom"))
    with pytest.raises(ModelError, match="'not-there' is not installed"):
        logic.start(RunRequest(phantom_volume, "not-there"))
    with pytest.raises(ModelError, match="no e2e strategy; choose one of cascade"):
        logic.start(RunRequest(phantom_volume, "liver-test", "e2e"))
    assert logic.strategies("liver-test") == ["cascade"] and logic.strategies("demo-phantom") == ["cascade", "e2e"]
    assert logic.engine_options("demo-phantom", "e2e", "cpu", True) == EngineOptions(
        str(demo_package), "e2e", "cpu", True)  # what the annotator's pre-label runs with
    assert not logic.running and scene.GetNumberOfNodes() == before


def test_cancel_ends_the_engine_and_leaves_the_scene_as_it_was(logic, scene, phantom_volume):
    before = scene.GetNumberOfNodes()
    logic.start(RunRequest(phantom_volume, "demo-phantom", device="cpu"))
    job = logic.job
    with pytest.raises(InputError, match="already running"):
        logic.start(RunRequest(phantom_volume, "demo-phantom"))
    process = psutil.Process(job.run.process.pid)

    finished = logic.cancel()

    assert finished == FinishedEvent(RunStatus.CANCELLED, "cancelled", finished.details)
    assert not logic.running and logic.poll() == [] and logic.cancel() is None
    assert not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    assert not job.run.work_dir.exists() and scene.GetNumberOfNodes() == before and logic.segmentation_node is None


def test_models_folder_choice_is_kept_for_the_next_session(logic, tmp_path):
    assert logic.models_folder() == tmp_path / "settings" / "Models"
    logic.set_models_folder(tmp_path / "hospital models")
    assert logic.models.models_folder == tmp_path / "hospital models"
    again = ModuleLogic(MODULE_DIR, ModuleSettings(logic.settings.path), python=sys.executable)
    assert again.models_folder() == tmp_path / "hospital models"
    assert DEMO_LABEL in again.models.model("demo-phantom").display_name()  # the bundled demo stays listed


def test_damaged_or_old_settings_count_as_unset(logic):
    logic.settings.path.parent.mkdir(parents=True)
    logic.settings.path.write_text("{not json")
    assert logic.last_cpu_timing() is None and logic.settings.get("models_folder") is None
    logic.settings.set(CPU_TIMING_KEY, {"seconds": 5, "pixels": 10})  # a field this version does not know
    assert logic.last_cpu_timing() is None
    assert json.loads(logic.settings.path.read_text()) == {CPU_TIMING_KEY: {"seconds": 5, "pixels": 10}}
    assert [p.name for p in logic.settings.path.parent.iterdir()] == ["settings.json"]  # no temporary file left


def test_start_failures_read_as_one_line():
    assert run_error_message(ModelError("The model 'x' is not installed")) == "The model 'x' is not installed"
    assert run_error_message(FileNotFoundError(2, "No such file or directory", "PythonSlicer")) == (
        "Could not start the segmentation process: [Errno 2] No such file or directory: 'PythonSlicer'")
