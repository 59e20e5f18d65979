"""Volumetry of a Slicer segmentation node (real MRML from slicer-core): the table follows labelmap edits."""

import numpy as np
import pytest
import SimpleITK as sitk
import slicer
from vtkmodules.util import numpy_support

from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd
from FLRSegmentationLib.volumetry.flr_assessment import AssessmentOptions
from FLRSegmentationLib.volumetry.rows import COLUMNS
from FLRSegmentationLib.volumetry.segmentation_volumes import measure_segmentation_file
from FLRSegmentationModuleLib.volumetry_table import LiveVolumetry, measure_segmentation_node

SPACING = (0.5, 0.8, 2.5)  # 1 mm^3 per voxel


class ManualScheduler:
    """Stands in for the single-shot QTimer: start() arms it, fire() runs the callback if armed."""

    def __init__(self, callback):
        self.callback, self.armed, self.starts = callback, False, 0

    def start(self):
        self.armed, self.starts = True, self.starts + 1

    def stop(self):
        self.armed = False

    def fire(self):
        if self.armed:
            self.armed = False
            self.callback()


@pytest.fixture
def seg_path(tmp_path):
    """Liver 6 x 8 x 10 = 480 voxels, CRLM 8 voxels, FLR 6 x 8 x 4 = 192 voxels, on an oblique anisotropic grid."""
    liver = np.zeros((8, 10, 12), bool)
    liver[1:7, 1:9, 1:11] = True
    crlm = np.zeros_like(liver)
    crlm[2:4, 2:4, 6:8] = True
    flr = np.zeros_like(liver)
    flr[1:7, 1:9, 1:5] = True
    grid = sitk.Image([12, 10, 8], sitk.sitkUInt8)
    grid.SetSpacing(SPACING)
    grid.SetDirection([0, 1, 0, -1, 0, 0, 0, 0, 1])  # axes swapped and one flipped
    grid.SetOrigin([10.0, -20.0, 300.0])
    path = tmp_path / "case.seg.nrrd"
    write_seg_nrrd(path, {"liver": liver, "crlm": crlm, "flr": flr}, grid)
    return path


def table_values(table_node) -> dict[str, str]:
    table = table_node.GetTable()
    assert [table.GetColumn(c).GetName() for c in range(table.GetNumberOfColumns())] == list(COLUMNS)
    return {table.GetValue(r, 0).ToString(): table.GetValue(r, 1).ToString() for r in range(table.GetNumberOfRows())}


def set_segment_voxels(node, segment_id, box):
    """Replace a segment's labelmap through MRML, as the Segment Editor does: voxels in box (z, y, x) only."""
    labelmap = slicer.vtkOrientedImageData()
    node.GetBinaryLabelmapRepresentation("liver", labelmap)  # the liver's extent covers every edit below
    voxels = numpy_support.vtk_to_numpy(labelmap.GetPointData().GetScalars()).reshape(labelmap.GetDimensions()[::-1])
    voxels[:] = 0
    voxels[box] = 1
    labelmap.Modified()
    logic = slicer.vtkSlicerSegmentationsModuleLogic
    assert logic.SetBinaryLabelmapToSegment(labelmap, node, segment_id, logic.MODE_REPLACE)


def test_node_volumes_equal_the_file_volumes(seg_path, read_with_slicer):
    assert measure_segmentation_node(read_with_slicer(seg_path)) == measure_segmentation_file(seg_path)


def test_table_follows_edits_once_per_burst_of_events(seg_path, scene, read_with_slicer):
    node = read_with_slicer(seg_path)
    table_node = scene.AddNewNodeByClass("vtkMRMLTableNode")
    results = []
    live = LiveVolumetry(node, table_node, lambda: AssessmentOptions(160, 90), ManualScheduler,
                         on_result=results.append)
    live.recompute()
    assert table_values(table_node)["FLR volume (CRLM excluded)"] == "0.2"  # 192 mm^3
    assert live.result["flr_ml"] == 0.192 and live.result["crlm_count"] == 1

    # The labelmap's extent starts at voxel 1 of the file: box (z, y, x) [0:6, 0:8, 0:6] is file voxels 1-6 in x.
    set_segment_voxels(node, "flr", np.s_[0:6, 0:8, 0:6])  # 6 x 8 x 6 = 288 voxels, 4 of them CRLM
    set_segment_voxels(node, "crlm", np.s_[0:2, 0:2, 0:2])  # a second edit before the timer fires: 8 voxels
    scheduler = live.scheduler
    assert scheduler.armed and scheduler.starts >= 2 and len(results) == 1  # nothing recomputed yet
    scheduler.fire()
    assert len(results) == 2  # one recompute for the burst
    # FLR 288 - 8 (the new CRLM lies inside it) = 280 mm^3 of a 480 - 8 = 472 mm^3 functional liver: 59.32 %
    assert live.result["flr_ml"] == 0.28 and live.result["flr_percent"] == round(100 * 280 / 472, 3)
    values = table_values(table_node)
    assert values["FLR volume (CRLM excluded)"] == "0.3" and values["FLR % (FLR / functional liver)"] == "59.32"
    assert values["sFLR (FLR / estimated TLV)"] == "0.02"  # 0.28 mL / 1740.15 mL = 0.016 %

    live.close()
    set_segment_voxels(node, "flr", np.s_[0:1, 0:1, 0:1])
    assert not scheduler.armed  # no longer observed


def test_renamed_segment_shows_in_the_table_and_recovers(seg_path, scene, read_with_slicer):
    node = read_with_slicer(seg_path)
    table_node = scene.AddNewNodeByClass("vtkMRMLTableNode")
    live = LiveVolumetry(node, table_node, AssessmentOptions, ManualScheduler)
    node.GetSegmentation().GetSegment("flr").SetName("Remnant")
    live.scheduler.fire()
    assert live.result is None and "no segment named 'FLR'" in table_values(table_node)["Not measured"]
    node.GetSegmentation().GetSegment("flr").SetName("FLR")
    live.scheduler.fire()
    assert live.error is None and live.result["flr_ml"] == 0.192


def test_new_empty_segments_show_the_no_flr_state(scene):
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode")
    for name in ("Liver", "CRLM", "FLR"):
        node.GetSegmentation().AddEmptySegment(name.lower(), name)
    table_node = scene.AddNewNodeByClass("vtkMRMLTableNode")
    live = LiveVolumetry(node, table_node, AssessmentOptions, ManualScheduler)
    live.recompute()
    assert live.result["liver_ml"] == 0 and live.result["verdict"] == "no FLR segment"
    assert "Liver segment is empty" in table_values(table_node)["No FLR segment"]


def test_changed_patient_options_recompute_through_the_scheduler(seg_path, scene, read_with_slicer):
    options = {"value": AssessmentOptions()}
    live = LiveVolumetry(read_with_slicer(seg_path), scene.AddNewNodeByClass("vtkMRMLTableNode"),
                         lambda: options["value"], ManualScheduler)
    live.recompute()
    assert live.result["threshold_percent"] == 20.0 and "sflr_percent" not in live.result
    options["value"] = AssessmentOptions(160, 90, condition="cirrhosis")
    live.request_update()
    live.scheduler.fire()
    assert live.result["threshold_percent"] == 40.0 and live.result["sflr_percent"] == round(100 * 0.192 / 1740.15, 3)
