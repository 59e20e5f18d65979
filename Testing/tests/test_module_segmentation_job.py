"""A whole module run headless: volume node -> background engine -> new segmentation node, with real MRML.

`stand_in_engine.py` takes the engine's command line and writes its outputs with the engine's own writer
(case_outputs.write_case) from a threshold of the CT, so the job's plumbing is tested without trained weights; the real
engine is run by test_module_process_runner.py (bad input always, a full run once Models/demo-phantom is built).
"""

from __future__ import annotations

import stat
import sys
import textwrap
import time

import numpy as np
import pytest
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import VTK_SHORT
from vtkmodules.vtkCommonDataModel import vtkImageData

from FLRSegmentationModuleLib.process_runner import EngineOptions, FinishedEvent, ProgressEvent, RunStatus
from FLRSegmentationModuleLib.segmentation_job import SegmentationJob

STAND_IN = """\
    #!{python}
    import argparse, sys
    from pathlib import Path
    import numpy as np, SimpleITK as sitk
    from FLRSegmentationLib.inference.case_outputs import write_case
    from FLRSegmentationLib.inference.progress import format_progress_line
    parser = argparse.ArgumentParser()
    parser.add_argument("-m"); parser.add_argument("command"); parser.add_argument("input", type=Path)
    parser.add_argument("-o", type=Path); parser.add_argument("--progress"); parser.add_argument("--model")
    parser.add_argument("--strategy"); parser.add_argument("--device"); parser.add_argument("--fast", action="store_true")
    args = parser.parse_args()
    if args.model == "crash":
        sys.exit("flrseg: error: model 'crash' is damaged")
    print(format_progress_line("liver", 0.5, "stage 1"), flush=True)
    ct = sitk.ReadImage(str(args.input))
    array = sitk.GetArrayFromImage(ct)
    labels = np.where(array > 50, 1, 0).astype(np.uint8)
    labels[array > 100] = 3
    labels[array > 110] = 2
    args.o.mkdir()
    report = {{"flr_percent": 12.5, "liver_ml": 1.0, "crlm_ml": 0.1, "flr_ml": 0.1, "model": {{"label": args.model}}}}
    write_case(args.o, args.input.name.split(".")[0], ct, labels, report)
    print(format_progress_line("done", 1.0, "written"), flush=True)
    """


@pytest.fixture
def stand_in_python(tmp_path) -> str:
    script = tmp_path / "stand_in_engine.py"
    script.write_text(textwrap.dedent(STAND_IN.format(python=sys.executable)))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


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
