"""Loading the engine's output into the scene with real MRML (slicer-core): segments, geometry, hierarchy, no overwrite.

The CT is oblique and anisotropic and goes out through the module's own export, so the test follows the module's
path: volume node -> file the engine reads -> `.seg.nrrd` on that grid -> new segmentation node.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
import slicer
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import VTK_SHORT, vtkStringArray
from vtkmodules.vtkCommonCore import reference as reference_value
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkCommonMath import vtkMatrix4x4

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd
from FLRSegmentationLib.vocabulary.segments import SEGMENTS
from FLRSegmentationModuleLib.segmentation_loader import load_engine_segmentation
from FLRSegmentationModuleLib.volume_export import write_volume

SHAPE_ZYX = (6, 8, 10)


@pytest.fixture
def ct_volume(scene):
    """An oblique, anisotropic CT volume node under Patient > Study in the subject hierarchy."""
    image = vtkImageData()
    image.SetDimensions(*SHAPE_ZYX[::-1])
    image.AllocateScalars(VTK_SHORT, 1)
    values = np.arange(np.prod(SHAPE_ZYX), dtype=np.int16)
    image.GetPointData().GetScalars().DeepCopy(numpy_support.numpy_to_vtk(values, deep=True))
    volume = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "CT 1")
    volume.SetAndObserveImageData(image)
    volume.SetSpacing(0.8, 0.7, 2.5)
    volume.SetOrigin(12.5, -30.0, 400.0)
    angle = np.radians(20)
    volume.SetIJKToRASDirections([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    patient = hierarchy.CreateSubjectItem(hierarchy.GetSceneItemID(), "Patient")
    study = hierarchy.CreateStudyItem(patient, "Study")
    hierarchy.CreateItem(study, volume)  # as DICOM loading files it; Slicer's GUI would make the item itself
    return volume


@pytest.fixture
def engine_output(ct_volume, tmp_path):
    """The `.seg.nrrd` the engine writes for the exported volume: masks on the grid it read."""
    exported = sitk.ReadImage(str(write_volume(ct_volume, tmp_path / "input")))
    rng = np.random.default_rng(3)
    liver = rng.random(SHAPE_ZYX) < 0.6
    crlm = liver & (rng.random(SHAPE_ZYX) < 0.2)
    flr = liver & ~crlm
    flr[:, :, 5:] = False
    masks = {"liver": liver, "crlm": crlm, "flr": flr}
    path = tmp_path / "volume.seg.nrrd"
    write_seg_nrrd(path, masks, exported)
    return path, masks


def ijk_to_ras(node) -> np.ndarray:
    matrix = vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    return np.array([[matrix.GetElement(i, j) for j in range(4)] for i in range(4)])


def segment_array(segmentation_node, segment_id: str, volume) -> np.ndarray:
    """A segment exported on the volume's grid with Slicer's own logic, as (z, y, x)."""
    labelmap = segmentation_node.GetScene().AddNewNodeByClass("vtkMRMLLabelMapVolumeNode")
    ids = vtkStringArray()
    ids.InsertNextValue(segment_id)
    assert slicer.vtkSlicerSegmentationsModuleLogic.ExportSegmentsToLabelmapNode(segmentation_node, ids, labelmap,
                                                                                 volume)
    assert np.allclose(ijk_to_ras(labelmap), ijk_to_ras(volume))
    data = labelmap.GetImageData()
    array = numpy_support.vtk_to_numpy(data.GetPointData().GetScalars()).reshape(data.GetDimensions()[::-1])
    return array > 0


def test_segments_carry_the_tables_names_colors_and_terminology(ct_volume, engine_output):
    node = load_engine_segmentation(engine_output[0], ct_volume)
    segmentation = node.GetSegmentation()
    assert [segmentation.GetNthSegment(i).GetName() for i in range(segmentation.GetNumberOfSegments())] == [
        "Liver", "CRLM", "FLR"]
    tag = slicer.vtkSegment.GetTerminologyEntryTagName()
    for spec in SEGMENTS:
        segment = segmentation.GetSegment(spec.key)
        assert segment.GetName() == spec.name
        assert np.allclose(segment.GetColor(), spec.color)
        value = reference_value("")
        assert segment.GetTag(tag, value) and str(value) == spec.terminology_entry


def test_node_is_new_named_after_the_volume_and_shown(ct_volume, engine_output):
    node = load_engine_segmentation(engine_output[0], ct_volume)
    assert node.GetName() == "CT 1 FLR segmentation"
    assert node.GetDisplayNode() is not None
    assert node.GetStorageNode() is None  # the temporary file is not what a scene save should point at
    assert node.GetSegmentation().ContainsRepresentation("Closed surface")


def test_geometry_and_voxels_equal_the_reference_volume(ct_volume, engine_output):
    path, masks = engine_output
    node = load_engine_segmentation(path, ct_volume)
    geometry = node.GetSegmentation().GetConversionParameter(
        slicer.vtkSegmentationConverter.GetReferenceImageGeometryParameterName())
    matrix = vtkMatrix4x4()
    ct_volume.GetIJKToRASMatrix(matrix)
    assert geometry == slicer.vtkSegmentationConverter.SerializeImageGeometry(matrix, ct_volume.GetImageData())
    for key, mask in masks.items():
        assert np.array_equal(segment_array(node, key, ct_volume), mask), key


def test_placed_under_the_volumes_study(ct_volume, engine_output):
    node = load_engine_segmentation(engine_output[0], ct_volume)
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(ct_volume.GetScene())
    study = hierarchy.GetItemParent(hierarchy.GetItemByDataNode(ct_volume))
    assert hierarchy.GetItemLevel(study) == "Study"
    assert hierarchy.GetItemParent(hierarchy.GetItemByDataNode(node)) == study


def test_second_run_makes_a_new_node_and_leaves_the_edited_one_alone(ct_volume, engine_output):
    path, masks = engine_output
    first = load_engine_segmentation(path, ct_volume)
    first.GetSegmentation().GetSegment("flr").SetName("FLR corrected")
    first.GetSegmentation().RemoveSegment("crlm")  # the user's edit
    edited_mtime = first.GetMTime()

    second = load_engine_segmentation(path, ct_volume)

    assert second is not first and second.GetName() != first.GetName()
    assert second.GetName().startswith("CT 1 FLR segmentation")
    assert first.GetMTime() == edited_mtime
    assert first.GetSegmentation().GetNumberOfSegments() == 2
    assert first.GetSegmentation().GetSegment("flr").GetName() == "FLR corrected"
    assert second.GetSegmentation().GetNumberOfSegments() == 3


def test_a_damaged_file_is_one_message_and_leaves_the_scene_as_it_was(ct_volume, tmp_path):
    scene = ct_volume.GetScene()
    before = scene.GetNumberOfNodes()
    damaged = tmp_path / "volume.seg.nrrd"
    damaged.write_bytes(b"NRRD0004\ntype: what\n")
    with pytest.raises(InputError, match="Can't read"):
        load_engine_segmentation(damaged, ct_volume)
    assert scene.GetNumberOfNodes() == before


def test_export_refuses_a_node_without_image(scene, tmp_path):
    empty = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "empty")
    with pytest.raises(InputError, match="holds image data"):
        write_volume(empty, tmp_path)
