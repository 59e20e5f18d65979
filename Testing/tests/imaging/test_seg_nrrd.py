"""`.seg.nrrd` writing and reading, checked against the real Slicer classes (slicer-core), not a re-implementation.

Slicer reads our files with vtkMRMLSegmentationStorageNode and we read the files it writes; the terminology file
is loaded by Slicer's own terminology logic. The reference grid is oblique, left-handed and anisotropic so that
an axis swapped, flipped or mis-scaled anywhere fails a test.
"""

from __future__ import annotations

import json
from pathlib import Path

import nrrd
import numpy as np
import pytest
import SimpleITK as sitk
import slicer  # slicer-core (test dependency): Slicer's own MRML, segmentation and terminology classes
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import VTK_UNSIGNED_CHAR, vtkStringArray
from vtkmodules.vtkCommonCore import reference as reference_value
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkCommonMath import vtkMatrix4x4

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.imaging.seg_nrrd import read_seg_nrrd, write_seg_nrrd
from FLRSegmentationLib.vocabulary.segments import SEGMENTS, SEGMENTS_BY_KEY, TERMINOLOGY_CONTEXT

TERMINOLOGY_FILE = (Path(__file__).resolve().parents[3] / "FLRSegmentation" / "Resources" / "Terminology"
                    / "FLRSegmentation-terminology.term.json")
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def _rotation(axis, degrees: float) -> np.ndarray:
    """Rotation matrix about an axis (Rodrigues)."""
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    t = np.radians(degrees)
    return np.eye(3) + np.sin(t) * K + (1 - np.cos(t)) * K @ K


@pytest.fixture
def reference() -> sitk.Image:
    """A small CT grid: oblique (25 degrees about a tilted axis), second axis flipped, anisotropic spacing."""
    image = sitk.Image([9, 7, 5], sitk.sitkInt16)  # x, y, z
    image.SetSpacing([0.7, 0.9, 2.5])
    image.SetOrigin([-120.25, 35.5, -410.0])
    image.SetDirection((_rotation([1, 2, 3], 25) @ np.diag([1, -1, 1])).ravel().tolist())
    return image


@pytest.fixture
def masks() -> dict[str, np.ndarray]:
    """Liver with CRLM and FLR inside it, disjoint from each other; random so any voxel misplacement shows."""
    rng = np.random.default_rng(7)
    liver = rng.random((5, 7, 9)) < 0.7
    crlm = np.zeros_like(liver)
    crlm[1:4, 2:5, 5:8] = liver[1:4, 2:5, 5:8] & (rng.random((3, 3, 3)) < 0.5)
    flr = liver & ~crlm
    flr[:, :, 4:] = False
    return {"liver": liver, "crlm": crlm, "flr": flr}


def _ijk_to_ras(image: sitk.Image) -> np.ndarray:
    """The image's voxel-to-RAS matrix, the way Slicer stores volume geometry."""
    matrix = np.eye(4)
    matrix[:3, :3] = LPS_TO_RAS @ np.array(image.GetDirection()).reshape(3, 3) @ np.diag(image.GetSpacing())
    matrix[:3, 3] = LPS_TO_RAS @ np.array(image.GetOrigin())
    return matrix


def _numpy_matrix(vtk_matrix) -> np.ndarray:
    return np.array([[vtk_matrix.GetElement(i, j) for j in range(4)] for i in range(4)])


def _image_to_world(oriented_image) -> np.ndarray:
    matrix = vtkMatrix4x4()
    oriented_image.GetImageToWorldMatrix(matrix)
    return _numpy_matrix(matrix)


def _vtk_matrix(matrix: np.ndarray):
    result = vtkMatrix4x4()
    for i in range(4):
        for j in range(4):
            result.SetElement(i, j, matrix[i, j])
    return result


def _labelmap_node(scene, array: np.ndarray, reference: sitk.Image):
    """A Slicer labelmap volume holding `array` (z, y, x) on the reference grid."""
    image = vtkImageData()
    image.SetDimensions(*reference.GetSize())
    image.AllocateScalars(VTK_UNSIGNED_CHAR, 1)
    numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())[:] = array.astype(np.uint8).ravel()
    node = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode")
    node.SetAndObserveImageData(image)
    node.SetIJKToRASMatrix(_vtk_matrix(_ijk_to_ras(reference)))
    return node


def _slicer_write(scene, masks: dict[str, np.ndarray], reference: sitk.Image, path: Path,
                  geometry: sitk.Image | None = None) -> None:
    """Build a segmentation in Slicer from masks on `reference` (one import per segment) and save it.

    `geometry` is the segmentation's reference geometry (the volume the user segmented), `reference` if None.
    """
    geometry = reference if geometry is None else geometry
    volume = _labelmap_node(scene, np.zeros(geometry.GetSize()[::-1]), geometry)
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode")
    node.SetReferenceImageGeometryParameterFromVolumeNode(volume)
    for name, mask in masks.items():
        segment_id = node.GetSegmentation().AddEmptySegment(name, name)
        ids = vtkStringArray()
        ids.InsertNextValue(segment_id)
        assert slicer.vtkSlicerSegmentationsModuleLogic.ImportLabelmapToSegmentationNode(
            _labelmap_node(scene, mask, reference), node, ids)
    storage = scene.AddNewNodeByClass("vtkMRMLSegmentationStorageNode")
    storage.SetFileName(str(path))
    assert storage.WriteData(node) == 1


def _assert_same_grid(image: sitk.Image, reference: sitk.Image) -> None:
    assert image.GetSize() == reference.GetSize()
    np.testing.assert_allclose(image.GetSpacing(), reference.GetSpacing(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(image.GetOrigin(), reference.GetOrigin(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(image.GetDirection(), reference.GetDirection(), rtol=0, atol=1e-12)


def test_segment_table_order_and_slicer_terminology_format():
    assert [(s.key, s.name) for s in SEGMENTS] == [("liver", "Liver"), ("crlm", "CRLM"), ("flr", "FLR")]
    assert SEGMENTS[0].terminology_entry == (
        "Segmentation category and type - FLR Segmentation~SCT^123037004^Anatomical Structure~SCT^10200004^Liver~^^"
        "~Anatomic codes - DICOM master list~^^~^^")
    for segment in SEGMENTS:
        # Slicer's own serializer, from the same codes, gives the same string
        codes = [segment.category, segment.type, None, segment.region, None]
        parts = [(c.value, c.scheme, c.meaning) if c else ("", "", "") for c in codes]
        expected = slicer.vtkSlicerTerminologiesModuleLogic.SerializeTerminologyEntry(
            TERMINOLOGY_CONTEXT, *parts[0], *parts[1], *parts[2], "Anatomic codes - DICOM master list",
            *parts[3], *parts[4])
        assert segment.terminology_entry == expected
        assert all(0 <= c <= 1 for c in segment.color)


def test_terminology_file_holds_the_table_entries():
    """Slicer loads the file and finds each segment's codes there, with the table's meanings and colours."""
    logic = slicer.vtkSlicerTerminologiesModuleLogic()
    assert logic.LoadTerminologyFromFile(str(TERMINOLOGY_FILE)) == TERMINOLOGY_CONTEXT
    assert json.loads(TERMINOLOGY_FILE.read_text())["SegmentationCategoryTypeContextName"] == TERMINOLOGY_CONTEXT
    for segment in SEGMENTS_BY_KEY.values():  # the plan's Resected segment too
        entry = slicer.vtkSlicerTerminologyEntry()
        assert logic.DeserializeTerminologyEntry(segment.terminology_entry, entry)
        entry.GetTypeObject().SetRecommendedDisplayRGBValue(1, 2, 3)  # overwritten only if the file has the type
        logic.UpdateEntryFromLoadedTerminologies(entry, [TERMINOLOGY_CONTEXT], [])
        assert entry.GetTerminologyContextName() == TERMINOLOGY_CONTEXT
        assert entry.GetTypeObject().GetRecommendedDisplayRGBValue() == tuple(round(c * 255) for c in segment.color)
        assert logic.SerializeTerminologyEntry(entry) == segment.terminology_entry


def test_slicer_reads_our_file_on_the_reference_grid(read_with_slicer, tmp_path, scene, reference, masks):
    path = tmp_path / "case.seg.nrrd"
    write_seg_nrrd(path, masks, reference)
    node = read_with_slicer(path)

    segmentation = node.GetSegmentation()
    segment_ids = [segmentation.GetNthSegmentID(i) for i in range(segmentation.GetNumberOfSegments())]
    segments = [segmentation.GetSegment(i) for i in segment_ids]
    assert [s.GetName() for s in segments] == ["Liver", "CRLM", "FLR"]
    for segment, expected in zip(segments, SEGMENTS):
        assert segment.GetColor() == expected.color
        tag = reference_value("")
        assert segment.GetTag(segment.GetTerminologyEntryTagName(), tag)
        assert tag.get() == expected.terminology_entry

    expected_ijk_to_ras = _ijk_to_ras(reference)
    geometry = slicer.vtkOrientedImageData()
    assert slicer.vtkSegmentationConverter.DeserializeImageGeometry(
        segmentation.GetConversionParameter("Reference image geometry"), geometry, False)
    np.testing.assert_allclose(_image_to_world(geometry), expected_ijk_to_ras, atol=1e-9)
    assert geometry.GetExtent() == (0, 8, 0, 6, 0, 4)
    for segment_id, expected in zip(segment_ids, SEGMENTS):
        labelmap = slicer.vtkOrientedImageData()
        node.GetBinaryLabelmapRepresentation(segment_id, labelmap)
        np.testing.assert_allclose(_image_to_world(labelmap), expected_ijk_to_ras, atol=1e-9)

        exported = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode")
        assert slicer.vtkSlicerSegmentationsModuleLogic.ExportSegmentsToLabelmapNode(
            node, [segment_id], exported, None, slicer.vtkSegmentation.EXTENT_REFERENCE_GEOMETRY)
        matrix = vtkMatrix4x4()
        exported.GetIJKToRASMatrix(matrix)
        np.testing.assert_allclose(_numpy_matrix(matrix), expected_ijk_to_ras, atol=1e-9)
        voxels = slicer.util.arrayFromVolume(exported)
        assert voxels.shape == masks[expected.key].shape
        np.testing.assert_array_equal(voxels != 0, masks[expected.key])


def test_our_file_packs_layers_and_has_slicers_header_fields(tmp_path, scene, reference, masks):
    ours, theirs = tmp_path / "ours.seg.nrrd", tmp_path / "slicer.seg.nrrd"
    write_seg_nrrd(ours, masks, reference)
    _slicer_write(scene, {s.name: masks[s.key] for s in SEGMENTS}, reference, theirs)
    our_header, their_header = nrrd.read_header(str(ours)), nrrd.read_header(str(theirs))
    assert set(our_header) == set(their_header)
    assert our_header["encoding"] == "gzip"
    assert list(our_header["sizes"]) == [2, 9, 7, 5]  # Liver in layer 0; CRLM and FLR share layer 1
    assert [(our_header[f"Segment{i}_Layer"], our_header[f"Segment{i}_LabelValue"]) for i in range(3)] == [
        ("0", "1"), ("1", "1"), ("1", "2")]


def test_read_round_trip_of_our_file(tmp_path, reference, masks):
    path = tmp_path / "case.seg.nrrd"
    write_seg_nrrd(path, masks, reference)
    read, grid = read_seg_nrrd(path)
    assert list(read) == ["Liver", "CRLM", "FLR"]
    for segment in SEGMENTS:
        np.testing.assert_array_equal(read[segment.name], masks[segment.key])
    _assert_same_grid(grid, reference)


def test_empty_segment_survives_both_readers(read_with_slicer, tmp_path, scene, reference, masks):
    """A case without metastases still has a (empty) CRLM segment."""
    masks["crlm"][:] = False
    path = tmp_path / "case.seg.nrrd"
    write_seg_nrrd(path, masks, reference)
    read, _ = read_seg_nrrd(path)
    assert not read["CRLM"].any()
    np.testing.assert_array_equal(read["Liver"], masks["liver"])
    segmentation = read_with_slicer(path).GetSegmentation()
    assert [segmentation.GetNthSegment(i).GetName() for i in range(3)] == ["Liver", "CRLM", "FLR"]


@pytest.mark.parametrize("overlapping", [True, False], ids=["4D-layers", "3D-single-layer"])
def test_read_file_written_by_slicer(tmp_path, scene, reference, masks, overlapping):
    if not overlapping:
        masks = {"liver": masks["liver"] & ~masks["crlm"] & ~masks["flr"], "crlm": masks["crlm"], "flr": masks["flr"]}
    path = tmp_path / "edited.seg.nrrd"
    _slicer_write(scene, {"Liver": masks["liver"], "CRLM": masks["crlm"], "FLR": masks["flr"]}, reference, path)
    assert nrrd.read_header(str(path))["dimension"] == (4 if overlapping else 3)

    read, grid = read_seg_nrrd(path)
    assert list(read) == ["Liver", "CRLM", "FLR"]
    for segment in SEGMENTS:
        np.testing.assert_array_equal(read[segment.name], masks[segment.key])
    _assert_same_grid(grid, reference)


def test_read_slicer_file_reaching_outside_its_reference_geometry(tmp_path, scene, reference, masks):
    """Slicer grows the file past the reference volume and stores the shift; the masks must not move."""
    path = tmp_path / "edited.seg.nrrd"
    names = {s.name: masks[s.key] for s in SEGMENTS}
    _slicer_write(scene, names, reference, path, geometry=reference[3:, :, 1:])
    assert nrrd.read_header(str(path))["Segmentation_ReferenceImageExtentOffset"] == "-3 0 -1"

    read, grid = read_seg_nrrd(path)
    for name, mask in names.items():
        np.testing.assert_array_equal(read[name], mask)
    _assert_same_grid(grid, reference)


def test_bad_files_raise_input_error(tmp_path, reference, masks):
    good = tmp_path / "good.seg.nrrd"
    write_seg_nrrd(good, masks, reference)
    content = good.read_bytes()
    truncated = tmp_path / "truncated.seg.nrrd"
    truncated.write_bytes(content[: len(content) - 200])
    garbage = tmp_path / "garbage.seg.nrrd"
    garbage.write_bytes(content[: content.index(b"\n\n") + 2] + b"\x00not gzip\xff" * 20)
    plain = tmp_path / "plain.nrrd"
    nrrd.write(str(plain), np.zeros((3, 3, 3), np.uint8),
               {"space": "left-posterior-superior", "space directions": np.eye(3), "space origin": np.zeros(3)})
    empty = tmp_path / "empty.seg.nrrd"
    empty.write_bytes(b"")
    for path in (truncated, garbage, plain, empty, tmp_path / "missing.seg.nrrd"):
        with pytest.raises(InputError) as error:
            read_seg_nrrd(path)
        assert "\n" not in str(error.value)
