"""The Resection section's logic with real MRML (slicer-core): markups moved as a user drags them change the planned
FLR segment, the tables and the coloured surfaces; plans are saved and loaded; problems show as a table row."""

import json

import numpy as np
import pytest
import SimpleITK as sitk
import slicer
from vtkmodules.util import numpy_support

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.resection.resect_run import load_planner
from FLRSegmentationLib.vocabulary.labels import split_label_map
from FLRSegmentationModuleLib.resection_logic import PLANNED_FLR_ID, ResectionLogic
from FLRSegmentationModuleLib.resection_nodes import SURFACE_ROLE, plan_from_markups
from FLRSegmentationModuleLib.volumetry_results import PatientValues
from FLRSegmentationModuleLib.volumetry_table import mask_on
from mrml_volumetry import ManualScheduler, table_values

FLR_ROW = "FLR volume (CRLM excluded)"


@pytest.fixture
def phantom_seg(tmp_path):
    _, truth = make_phantom(4)
    path = tmp_path / "phantom4.seg.nrrd"
    write_seg_nrrd(path, split_label_map(sitk.GetArrayFromImage(truth)), truth)
    return path


@pytest.fixture
def logic(scene, read_with_slicer, phantom_seg):
    logic = ResectionLogic(scene, ManualScheduler)
    logic.follow(read_with_slicer(phantom_seg), PatientValues(172, 70))
    yield logic
    logic.close()


def segment_voxels(node, segment_id) -> int:
    labelmap = slicer.vtkOrientedImageData()
    node.GetBinaryLabelmapRepresentation(segment_id, labelmap)
    return int(np.count_nonzero(numpy_support.vtk_to_numpy(labelmap.GetPointData().GetScalars())))


def tumour_rows(table_node) -> list[list[str]]:
    table = table_node.GetTable()
    return [[table.GetValue(r, c).ToString() for c in range(table.GetNumberOfColumns())]
            for r in range(table.GetNumberOfRows())]


def test_moving_a_plane_changes_the_planned_flr_and_the_tables(logic, phantom_seg):
    assert "Add a plane" in table_values(logic.table_node)["Not computed"]
    plane = logic.add("plane")
    assert plane.GetName() == "Plane 1" and logic.error is None
    engine, _ = load_planner(phantom_seg)
    expected = engine.evaluate(plan_from_markups([plane]), PatientValues(172, 70).options()).result
    assert logic.result["flr_ml"] == expected["flr_ml"] and logic.result["tumours"] == expected["tumours"]
    voxel_ml = np.prod(engine.grid.spacing) / 1000
    assert segment_voxels(logic.plan_node, PLANNED_FLR_ID) * voxel_ml == pytest.approx(expected["flr_ml"], abs=1e-3)
    assert segment_voxels(logic.plan_node, "resected") * voxel_ml == pytest.approx(expected["resected_ml"], abs=1e-3)
    engine_masks = logic.planner.full_masks(logic.planner.evaluate(logic.plan()).removed)  # on the node's grid
    for segment_id, key in ((PLANNED_FLR_ID, "flr"), ("resected", "resected")):  # the voxels, not only their count
        np.testing.assert_array_equal(mask_on(logic.plan_node, segment_id, logic.common), engine_masks[key])
    reference = slicer.vtkSegmentationConverter.GetReferenceImageGeometryParameterName()
    geometry = logic.segmentation_node.GetSegmentation().GetConversionParameter(reference)
    assert geometry and logic.plan_node.GetSegmentation().GetConversionParameter(reference) == geometry
    before = table_values(logic.table_node)
    assert before["sFLR (FLR / estimated TLV)"] == f"{expected['sflr_percent']:.2f}"
    tumours_before = tumour_rows(logic.tumour_table_node)
    assert len(tumours_before) == len(expected["tumours"]) and tumours_before[0][2] == "resected"

    origin, normal = [0.0] * 3, [0.0] * 3
    plane.GetOriginWorld(origin)
    plane.GetNormalWorld(normal)
    plane.SetOriginWorld(*(np.array(origin) - 8.0 * np.array(normal)))  # 8 mm towards the remnant: a larger resection
    assert logic.scheduler.armed and logic.result["flr_ml"] == expected["flr_ml"]  # debounced: nothing yet
    logic.scheduler.fire()
    assert logic.result["flr_ml"] < expected["flr_ml"]
    after = table_values(logic.table_node)
    assert float(after[FLR_ROW]) < float(before[FLR_ROW])
    assert segment_voxels(logic.plan_node, PLANNED_FLR_ID) * voxel_ml == pytest.approx(logic.result["flr_ml"], abs=1e-3)
    margin_change = float(tumour_rows(logic.tumour_table_node)[0][3]) - float(tumours_before[0][3])
    assert margin_change == pytest.approx(8.0, abs=0.11)  # the plane moved 8 mm away from the resected tumour

    surface = plane.GetNodeReference(SURFACE_ROLE)
    polydata = surface.GetPolyData()
    assert polydata.GetNumberOfPoints() > 0 and polydata.GetPointData().GetArray("MarginBand") is not None
    display = surface.GetDisplayNode()
    assert display.GetActiveScalarName() == "MarginBand" and display.GetScalarVisibility()
    assert display.GetColorNode().GetNumberOfColors() == 3 and len(logic.legend()) == 3


def test_dragging_a_curved_surface_control_point(logic):
    curved = logic.add("bezier")
    assert curved.GetNumberOfControlPoints() == 16 and curved.GetFixedNumberOfControlPoints()
    start = logic.result["flr_ml"]  # the initial patch is flat: the initial plane's FLR
    points = slicer.util.arrayFromMarkupsControlPoints(curved, world=True)
    normal = np.cross(points[4] - points[0], points[1] - points[0])  # dS/du x dS/dv at P00, in RAS
    normal /= np.linalg.norm(normal)
    for index in (5, 6, 9, 10):  # bend the middle towards the remnant
        curved.SetNthControlPointPositionWorld(index, *(points[index] - 25.0 * normal))
    assert logic.scheduler.armed and logic.result["flr_ml"] == start
    logic.scheduler.fire()
    assert logic.result["flr_ml"] < start
    assert float(table_values(logic.table_node)[FLR_ROW]) == pytest.approx(logic.result["flr_ml"], abs=0.05)


def test_save_and_load_the_plan(logic, tmp_path, scene):
    logic.add("plane")
    logic.add("bezier")
    result = logic.result
    path = tmp_path / "plan.json"
    logic.save_plan(path)
    saved = json.loads(path.read_text())
    assert saved["coordinate_system"] == "RAS" and [r["name"] for r in saved["resections"]] == ["Plane 1", "Curved 1"]
    for node in logic.resection_nodes():
        logic.remove(node)
    assert logic.result is None and not logic.resection_nodes()
    logic.load_plan(path)
    assert [n.GetName() for n in logic.resection_nodes()] == ["Plane 1", "Curved 1"]
    assert logic.result["flr_ml"] == result["flr_ml"] and logic.result["tumours"] == result["tumours"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"coordinate_system": "RAS", "resections": []}')
    with pytest.raises(InputError, match="non-empty list"):
        logic.load_plan(bad)
    assert len(logic.resection_nodes()) == 2  # a bad file changes nothing


def test_problems_show_as_one_row_and_recover(logic):
    plane = logic.add("plane")
    origin = [0.0] * 3
    plane.GetOriginWorld(origin)
    plane.SetOriginWorld(origin[0], origin[1], origin[2] + 5000.0)
    logic.scheduler.fire()
    assert logic.result is None and "misses the liver" in table_values(logic.table_node)["Not computed"]
    assert tumour_rows(logic.tumour_table_node) == []
    plane.SetOriginWorld(*origin)
    logic.scheduler.fire()
    assert logic.result is not None and logic.error is None


def test_editing_the_segmentation_reads_it_again(logic):
    logic.add("plane")
    node = logic.segmentation_node
    crlm = node.GetSegmentation().GetSegmentIdBySegmentName("CRLM")
    node.GetSegmentation().RemoveSegment(crlm)  # the user deletes the CRLM segment
    assert logic.scheduler.armed
    logic.scheduler.fire()
    assert "no segment named 'CRLM'" in table_values(logic.table_node)["Not computed"]


def test_deleting_a_markups_node_removes_its_surface(logic, scene):
    first, second = logic.add("plane"), logic.add("bezier")
    surface = second.GetNodeReference(SURFACE_ROLE)
    scene.RemoveNode(second)  # as the Data module's Delete does
    assert logic.scheduler.armed
    logic.scheduler.fire()
    assert logic.resection_nodes() == [first] and surface.GetScene() is None
    assert [r["name"] for r in logic.result["resections"]] == ["Plane 1"]
