"""Volumetry of a Slicer segmentation node (real MRML from slicer-core): the table follows labelmap edits."""

import numpy as np

from FLRSegmentationLib.volumetry.flr_assessment import AssessmentOptions, assess
from FLRSegmentationLib.volumetry.segmentation_volumes import measure_segmentation_file
from FLRSegmentationModuleLib.volumetry_table import LiveVolumetry, measure_segmentation_node
from mrml_volumetry import ManualScheduler, set_segment_voxels, table_values

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


def test_a_liver_cut_by_the_scan_shows_incomplete_in_the_live_table(tmp_path, scene):
    """A segmentation Slicer saved cropped to its segments, made on a scan that cuts the liver: the node's
    reference geometry says so, as the file's does."""
    import SimpleITK as sitk

    from FLRSegmentationLib.research.phantom import make_phantom
    from mrml_volumetry import slicer_saved_segmentation

    _, labels = make_phantom(9001)
    array = sitk.GetArrayFromImage(labels)
    first = int(np.flatnonzero(array.any((0, 1)))[8])
    cut = sitk.GetImageFromArray(array[:, :, first:])
    cut.SetSpacing(labels.GetSpacing())
    cut.SetDirection(labels.GetDirection())
    cut.SetOrigin(labels.TransformIndexToPhysicalPoint((first, 0, 0)))
    masks = {"Liver": array[:, :, first:] > 0, "CRLM": array[:, :, first:] == 2, "FLR": array[:, :, first:] == 3}
    node = slicer_saved_segmentation(scene, masks, cut, tmp_path / "cut.seg.nrrd")
    live = LiveVolumetry(node, scene.AddNewNodeByClass("vtkMRMLTableNode"), lambda: AssessmentOptions(175, 80),
                         ManualScheduler)
    live.recompute()
    assert live.result["complete"] is False
    assert live.result["verdict"] == live.result["sflr_verdict"] == "incomplete"
    assert table_values(live.table_node)["Whole liver in the scan"] == "no: the scan cut the liver"
    assert live.result == assess(measure_segmentation_file(tmp_path / "cut.seg.nrrd"), AssessmentOptions(175, 80))
