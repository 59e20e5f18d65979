"""`flrseg resect` as a real process on a phantom's segmentation: the initial plan, the three outputs as Slicer reads
them (the .seg.nrrd by its storage node, the surface by its model storage node), and bad input that writes nothing."""

import json
import subprocess
import sys

import numpy as np
import pytest
import SimpleITK as sitk
import slicer  # slicer-core: Slicer's own storage nodes
from vtkmodules.util import numpy_support

from FLRSegmentationLib.cli.main import main
from FLRSegmentationLib.imaging.image_grid import ImageGrid
from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.resection.plan import read_plan
from FLRSegmentationLib.resection.planner import ResectionPlanner
from FLRSegmentationLib.vocabulary.labels import split_label_map


def flrseg(*args, check=True):
    done = subprocess.run([sys.executable, "-m", "FLRSegmentationLib.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """The phantom's true segmentation as a .seg.nrrd and as a label map, and its initial plan."""
    folder = tmp_path_factory.mktemp("resect")
    _, truth = make_phantom(4)
    masks = split_label_map(sitk.GetArrayFromImage(truth))
    seg = folder / "phantom4.seg.nrrd"
    write_seg_nrrd(seg, masks, truth)
    labels = folder / "phantom4_seg.nii.gz"
    sitk.WriteImage(truth, str(labels))
    plan = folder / "plan.json"
    done = flrseg("resect", seg, "--init", plan)
    assert "wrote the initial plan" in done.stdout
    return {"folder": folder, "seg": seg, "labels": labels, "plan": plan, "masks": masks, "truth": truth}


def test_resect_writes_report_segmentation_and_surface(case, scene, read_with_slicer):
    out = case["folder"] / "out"
    done = flrseg("resect", case["seg"], case["plan"], "-o", out, "--height-cm", 172, "--weight-kg", 70)
    assert "FLR % (FLR / functional liver)" in done.stdout and "Tumour 1" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == ["phantom4_resection.json", "phantom4_resection.seg.nrrd",
                                                     "phantom4_resection.vtk"]
    result = json.loads((out / "phantom4_resection.json").read_text())
    assert abs(result["remnant_ml"] + result["resected_ml"] - result["liver_ml"]) < 2e-3
    assert result["flr_ml"] == round(result["remnant_ml"] - sum(
        t["volume_ml"] for t in result["tumours"] if t["side"] == "remnant"), 3)
    assert result["sflr_percent"] is not None and result["verdict"] in ("sufficient", "borderline", "insufficient")
    assert {tuple(sorted(t)) for t in result["tumours"]} == {("flags", "id", "margin_mm", "side", "volume_ml")}
    assert [t["side"] for t in result["tumours"]] == ["resected"] * len(result["tumours"])
    assert result["plan"] == json.loads(case["plan"].read_text())
    assert result["software"]["flrseg"] and result["references"]["margins"].startswith("CRLM margins")

    # The planned FLR equals the engine's on the file's grid, and Slicer reads the four segments.
    planner = ResectionPlanner(case["masks"]["liver"], case["masks"]["crlm"], ImageGrid.of_image(case["truth"]))
    expected = planner.full_masks(planner.evaluate(read_plan(case["plan"])).removed)
    node = read_with_slicer(out / "phantom4_resection.seg.nrrd")
    segmentation = node.GetSegmentation()
    names = [segmentation.GetNthSegment(i).GetName() for i in range(segmentation.GetNumberOfSegments())]
    assert names == ["Liver", "CRLM", "FLR", "Resected"]
    for key in ("flr", "resected"):
        exported = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode")
        assert slicer.vtkSlicerSegmentationsModuleLogic.ExportSegmentsToLabelmapNode(
            node, [key], exported, None, slicer.vtkSegmentation.EXTENT_REFERENCE_GEOMETRY)
        np.testing.assert_array_equal(slicer.util.arrayFromVolume(exported) != 0, expected[key])
    assert result["flr_ml"] == round(np.count_nonzero(expected["flr"]) * np.prod(case["truth"].GetSpacing()) / 1000, 3)


def test_slicer_loads_the_surface_as_an_lps_model_with_its_scalars(case, scene):
    out = case["folder"] / "surface"
    flrseg("resect", case["labels"], case["plan"], "-o", out)
    path = out / "phantom4_resection.vtk"
    assert "SPACE=LPS" in path.read_text().splitlines()[1]
    model = scene.AddNewNodeByClass("vtkMRMLModelNode")
    storage = scene.AddNewNodeByClass("vtkMRMLModelStorageNode")
    storage.SetFileName(str(path))
    assert storage.ReadData(model) == 1
    assert storage.GetCoordinateSystem() == slicer.vtkMRMLStorageNode.CoordinateSystemLPS
    polydata = model.GetPolyData()
    ras = numpy_support.vtk_to_numpy(polydata.GetPoints().GetData())
    planner = ResectionPlanner(case["masks"]["liver"], case["masks"]["crlm"], ImageGrid.of_image(case["truth"]))
    (mesh,) = planner.meshes(read_plan(case["plan"]))
    np.testing.assert_allclose(ras, mesh.points * [-1, -1, 1], atol=1e-4)  # Slicer turned LPS into RAS
    assert polydata.GetNumberOfCells() == len(mesh.triangles)
    distance = numpy_support.vtk_to_numpy(polydata.GetPointData().GetArray("DistanceToTumour"))
    np.testing.assert_allclose(distance, mesh.distance_mm, atol=1e-4)  # NIfTI holds the grid in float32
    band = numpy_support.vtk_to_numpy(polydata.GetPointData().GetArray("MarginBand"))
    np.testing.assert_array_equal(band, mesh.band)


def test_a_ras_plan_gives_the_same_result(case):
    ras_plan = case["folder"] / "plan_ras.json"
    flrseg("resect", case["seg"], "--init", ras_plan, "--coordinate-system", "RAS")
    assert json.loads(ras_plan.read_text())["coordinate_system"] == "RAS"
    assert read_plan(ras_plan).resections == read_plan(case["plan"]).resections
    first, second = case["folder"] / "lps", case["folder"] / "ras"
    flrseg("resect", case["seg"], case["plan"], "-o", first)
    flrseg("resect", case["seg"], ras_plan, "-o", second)
    a, b = (json.loads((f / "phantom4_resection.json").read_text()) for f in (first, second))
    assert {k: v for k, v in a.items() if k != "plan"} == {k: v for k, v in b.items() if k != "plan"}


def test_initial_bezier_plan_is_sixteen_points(case):
    path = case["folder"] / "bezier.json"
    flrseg("resect", case["labels"], "--init", path, "--init-type", "bezier")
    (cut,) = json.loads(path.read_text())["resections"]
    assert cut["type"] == "bezier" and len(cut["control_points"]) == 16


BAD_PLANS = {
    "not JSON": ("{'coordinate_system': 'LPS',", "is not JSON"),
    "normal of length 0": ({"coordinate_system": "LPS", "resections": [
        {"name": "p", "type": "plane", "origin": [0, 0, 0], "normal": [0, 0, 0]}]}, "the normal has length 0"),
    "15 control points": ({"coordinate_system": "LPS", "resections": [
        {"name": "w", "type": "bezier", "control_points": [[k, k % 4, 0] for k in range(15)]}]}, "holds 15 points"),
    "misses the liver": ({"coordinate_system": "LPS", "resections": [
        {"name": "far", "type": "plane", "origin": [0, 0, 5000], "normal": [0, 0, 1]}]}, "misses the liver"),
    "NaN": ('{"coordinate_system": "LPS", "resections": [{"name": "n", "type": "plane", "origin": [NaN, 0, 0], '
            '"normal": [1, 0, 0]}]}', "NaN or infinite"),
}


def in_process(capsys, *args) -> tuple[int, str]:
    """The command's main() in this process (the exit code and stderr are the same as the process's)."""
    code = main(["resect", *map(str, args)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("kind", BAD_PLANS)
def test_bad_plan_is_one_line_exit_2_and_nothing_written(case, kind, capsys):
    content, message = BAD_PLANS[kind]
    plan = case["folder"] / f"bad {kind}.json"
    plan.write_text(content if isinstance(content, str) else json.dumps(content))
    out = case["folder"] / f"not written {kind}"
    code, stderr = in_process(capsys, case["seg"], plan, "-o", out)
    assert code == 2 and stderr.count("\n") == 1 and message in stderr and "Traceback" not in stderr
    assert not out.exists()


def test_bad_plan_in_a_real_process(case):
    plan = case["folder"] / "bad.json"
    plan.write_text("[1, 2")
    done = flrseg("resect", case["seg"], plan, "-o", case["folder"] / "bad out", check=False)
    assert done.returncode == 2 and done.stderr.startswith("flrseg: error: plan ") and done.stderr.count("\n") == 1
    assert not (case["folder"] / "bad out").exists()


def test_bad_command_lines(case, capsys):
    before = case["plan"].read_bytes()
    code, stderr = in_process(capsys, case["seg"], "--init", case["plan"])
    assert code == 2 and "never replaced" in stderr and case["plan"].read_bytes() == before
    code, stderr = in_process(capsys, case["seg"], case["plan"])
    assert code == 2 and "output folder" in stderr
    code, stderr = in_process(capsys, case["folder"] / "missing.seg.nrrd", case["plan"], "-o", case["folder"] / "x")
    assert code == 2 and "does not exist" in stderr and not (case["folder"] / "x").exists()
    renamed = case["folder"] / "renamed.seg.nrrd"
    masks = {k: v for k, v in case["masks"].items() if k != "crlm"}
    write_seg_nrrd(renamed, masks, case["truth"])  # no CRLM segment
    code, stderr = in_process(capsys, renamed, case["plan"], "-o", case["folder"] / "y")
    assert code == 2 and "no segment named 'CRLM'" in stderr and not (case["folder"] / "y").exists()
