"""A whole module run headless: volume node -> background engine -> new segmentation node, with real MRML.

The stand-in engine (module/conftest.py) takes the engine's command line and writes its outputs with the engine's
own writer (case_outputs.write_case) from a threshold of the CT, so the job's plumbing is tested without trained
weights; the real engine is run by test_process_runner.py (bad input always, a full run once Models/demo-phantom
is built).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import VTK_SHORT
from vtkmodules.vtkCommonDataModel import vtkImageData

from FLRSegmentationModuleLib.process_runner import EngineOptions, FinishedEvent, ProgressEvent, RunStatus
from FLRSegmentationModuleLib.segmentation_job import SegmentationJob


@pytest.fixture
def volume(scene):
    image = vtkImageData()
    image.SetDimensions(12, 10, 6)
    image.AllocateScalars(VTK_SHORT, 1)
    values = (np.arange(720) % 130).astype(np.int16)
    image.GetPointData().GetScalars().DeepCopy(numpy_support.numpy_to_vtk(values, deep=True))
    node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "CTLiver")
    node.SetAndObserveImageData(image)
    node.SetSpacing(0.9, 0.9, 3.0)
    return node


def finish(job: SegmentationJob) -> list:
    events, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline:
        events += job.poll()
        if events and isinstance(events[-1], FinishedEvent):
            return events
        time.sleep(0.05)
    job.cancel()
    pytest.fail("the job did not finish")


def test_job_loads_the_result_as_a_new_node_and_removes_its_folder(scene, volume, stand_in_python):
    job = SegmentationJob(volume, EngineOptions("some-model", device="cpu"), stand_in_python)
    events = finish(job)
    assert ProgressEvent("liver", 0.5, "stage 1") in events
    assert events[-1].status is RunStatus.SUCCEEDED, events[-1].message
    assert events[-1].message.startswith("FLR 12.5 % of the functional liver")
    node = job.segmentation_node
    assert node.GetName() == "CTLiver FLR segmentation" and node.GetScene() is scene
    assert node.GetSegmentation().GetNumberOfSegments() == 3
    assert not job.run.work_dir.exists()


def test_engine_failure_leaves_the_scene_as_it_was(scene, volume, stand_in_python):
    before = scene.GetNumberOfNodes()
    job = SegmentationJob(volume, EngineOptions("crash"), stand_in_python)
    finished = finish(job)[-1]
    assert (finished.status, finished.message) == (RunStatus.FAILED, "flrseg: error: model 'crash' is damaged")
    assert scene.GetNumberOfNodes() == before and not job.run.work_dir.exists()
