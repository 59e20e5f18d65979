"""The annotation session with real MRML (slicer-core): load a case, edit through MRML, save, reload, unsaved edits.

Edits go through vtkSlicerSegmentationsModuleLogic.SetBinaryLabelmapToSegment with a modifier on the CT volume
node's own lattice, as the Segment Editor's effects do; the expected label is computed from that lattice with
SimpleITK's geometry, so a voxel-order mistake (Slicer reverses the slices of left-handed files) would show.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest
import SimpleITK as sitk
import slicer
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import VTK_UNSIGNED_CHAR
from vtkmodules.vtkCommonMath import vtkMatrix4x4

from annotation_phantoms import LEFT_HANDED, RIGHT_HANDED, phantom_case, write_folder, write_nnunet
from FLRSegmentationLib.annotation.dataset import open_dataset
from FLRSegmentationLib.annotation.save import versions
from FLRSegmentationLib.annotation.store import CORRECTED, NOT_STARTED, PRELABELLED, VERIFIED
from FLRSegmentationLib.errors import InputError
from FLRSegmentationModuleLib.annotation_session import AnnotationSession, UnsavedEditsError
from FLRSegmentationModuleLib.process_runner import EngineOptions, FinishedEvent, RunStatus

LOGIC = slicer.vtkSlicerSegmentationsModuleLogic


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ijk_to_ras(node) -> np.ndarray:
    matrix = vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    return np.array([[matrix.GetElement(i, j) for j in range(4)] for i in range(4)])


def paint(session, segment_id: str, box: tuple, erase: bool = False) -> np.ndarray:
    """Paint (or erase) a box of the CT volume node's lattice (its k, j, i slices) into a segment, as an effect does.

    Returns the box as a mask of the CT file's voxels (z, y, x), mapped with SimpleITK's geometry.
    """
    volume = session.volume_node
    dims = volume.GetImageData().GetDimensions()
    block = np.zeros(dims[::-1], np.uint8)
    block[box] = 1
    modifier = slicer.vtkOrientedImageData()
    modifier.SetExtent(0, dims[0] - 1, 0, dims[1] - 1, 0, dims[2] - 1)
    matrix = vtkMatrix4x4()
    volume.GetIJKToRASMatrix(matrix)
    modifier.SetImageToWorldMatrix(matrix)
    modifier.AllocateScalars(VTK_UNSIGNED_CHAR, 1)
    values = 1 - block if erase else block
    modifier.GetPointData().GetScalars().DeepCopy(numpy_support.numpy_to_vtk(values.ravel(), deep=True))
    mode = LOGIC.MODE_MERGE_MIN if erase else LOGIC.MODE_MERGE_MAX
    assert LOGIC.SetBinaryLabelmapToSegment(modifier, session.segmentation_node, segment_id, mode)
    return file_voxels_in(session.case.image, volume, block.astype(bool))


def file_voxels_in(image_path, volume, block: np.ndarray) -> np.ndarray:
    """Which voxels of the CT file lie in `block` (a mask of the volume node's lattice), by ITK's geometry."""
    image = sitk.ReadImage(str(image_path))
    size = image.GetSize()
    index = np.stack(np.meshgrid(*[np.arange(n) for n in size], indexing="ij"), -1).reshape(-1, 3)  # i, j, k
    direction = np.reshape(image.GetDirection(), (3, 3))
    lps = image.GetOrigin() + (index * image.GetSpacing()) @ direction.T
    corner = size[0] - 1, size[1] - 1, size[2] - 1
    assert np.allclose(lps[-1], image.TransformIndexToPhysicalPoint(corner))
    ras = np.c_[-lps[:, :2], lps[:, 2], np.ones(len(lps))]
    node_ijk = np.rint(ras @ np.linalg.inv(ijk_to_ras(volume)).T)[:, :3].astype(int)
    inside = block[node_ijk[:, 2], node_ijk[:, 1], node_ijk[:, 0]]
    result = np.zeros(size[::-1], bool)
    result[index[:, 2], index[:, 1], index[:, 0]] = inside
    return result


def segment_names(node) -> list[str]:
    segmentation = node.GetSegmentation()
    return [segmentation.GetNthSegment(i).GetName() for i in range(segmentation.GetNumberOfSegments())]


@pytest.fixture(params=["nnunet", "folder", "folder-seg-nrrd"])
def dataset(request, tmp_path):
    """A labelled case on a left-handed grid and one without label, in each layout and label format."""
    cases = {"case_001": phantom_case(11, LEFT_HANDED), "case_002": (phantom_case(12, RIGHT_HANDED)[0], None)}
    if request.param == "nnunet":
        return open_dataset(write_nnunet(tmp_path / "Dataset503", cases))
    seg_nrrd = ("case_001",) if request.param == "folder-seg-nrrd" else ()
    return open_dataset(write_folder(tmp_path / "cts", cases, seg_nrrd=seg_nrrd))


def test_load_edit_through_mrml_save_and_reload_voxel_for_voxel(scene, dataset):
    session = AnnotationSession(scene, dataset, "annotator A")
    session.open_case("case_001")
    case = session.case
    original = dataset.read_label(case)

    assert segment_names(session.segmentation_node) == ["Liver", "CRLM", "FLR"]
    assert np.array_equal(ijk_to_ras(session.volume_node)[:3, :3] @ [0, 0, 1], [0, 0, -9])  # reversed slices
    assert session.volume_node.GetStorageNode() is None  # a scene save can't write into the dataset
    assert not session.has_unsaved_edits()

    box = (slice(4, 9), slice(10, 20), slice(12, 26))  # k, j, i of the volume node
    painted = paint(session, "crlm", box)
    paint(session, "liver", box)
    paint(session, "flr", box, erase=True)
    expected = {"liver": original["liver"] | painted, "crlm": original["crlm"] | painted,
                "flr": original["flr"] & ~painted}
    assert painted.sum() == 5 * 10 * 14 and (painted & original["flr"]).any()
    assert session.has_unsaved_edits()

    entry = session.save()

    assert not session.has_unsaved_edits()
    assert entry["voxels_changed"] == int((painted & ~original["crlm"]).sum())
    session.close_case()
    reloaded = AnnotationSession(scene, open_dataset(dataset.root), "annotator B")
    reloaded.open_case("case_001")
    shown, stored = reloaded.current_masks(), dataset.read_label(case)
    for key, mask in expected.items():
        assert np.array_equal(shown[key], mask), key
        assert np.array_equal(stored[key], mask), key
    assert len(versions(dataset, case)) == 1
    assert dataset.status(case) == CORRECTED


def test_unsaved_edits_are_never_dropped_without_an_explicit_discard(scene, dataset):
    session = AnnotationSession(scene, dataset, "a")
    session.open_case("case_001")
    label_before = session.case.label.read_bytes()
    paint(session, "liver", (slice(0, 2), slice(0, 2), slice(0, 2)))

    with pytest.raises(UnsavedEditsError, match="Case 'case_001' has unsaved edits; save or discard them first"):
        session.open_case("case_002")
    with pytest.raises(UnsavedEditsError):
        session.close_case()
    assert session.case.id == "case_001" and session.has_unsaved_edits()

    session.open_case("case_002", discard_unsaved=True)
    assert session.case.id == "case_002"
    assert dataset.case("case_001").label.read_bytes() == label_before
    assert scene.GetNodesByClass("vtkMRMLSegmentationNode").GetNumberOfItems() == 1  # the old case's nodes went


def test_an_undone_edit_is_no_edit(scene, dataset):
    session = AnnotationSession(scene, dataset, "a")
    session.open_case("case_001")
    box = (slice(0, 2), slice(0, 2), slice(0, 2))  # a corner of the field of view: background in the phantom
    painted = paint(session, "liver", box)
    assert not (painted & dataset.read_label(session.case)["liver"]).any()
    assert session.has_unsaved_edits()
    paint(session, "liver", box, erase=True)
    assert not session.has_unsaved_edits()


def test_a_segment_the_dataset_cannot_hold_is_refused_not_dropped(scene, dataset):
    session = AnnotationSession(scene, dataset, "a")
    session.open_case("case_001")
    session.segmentation_node.GetSegmentation().AddEmptySegment("portal", "Portal vein")
    assert session.has_unsaved_edits()
    with pytest.raises(InputError, match="segment\\(s\\) Portal vein are not labels of this dataset"):
        session.save()
    session.segmentation_node.GetSegmentation().GetSegment("crlm").SetName("Tumour")
    with pytest.raises(InputError, match="has no segment named 'CRLM'"):
        session.save()
    assert dataset.store.record("case_001")["saves"] == []


def test_notes_verified_and_time_are_recorded(scene, dataset):
    clock = Clock()
    session = AnnotationSession(scene, dataset, "reviewer R", clock)
    session.open_case("case_002")
    with pytest.raises(InputError, match="Save case 'case_002' before marking it verified"):
        session.set_verified(True)
    session.open_case("case_001")
    session.set_notes("CRLM in segment 7 is doubtful")
    paint(session, "flr", (slice(0, 1), slice(0, 1), slice(0, 1)), erase=True)
    clock.now += 90
    session.save()
    session.set_verified(True)
    clock.now += 30
    session.close_case()

    record = open_dataset(dataset.root).store.record("case_001")
    assert record["notes"] == "CRLM in segment 7 is doubtful"
    assert record["verified"] and record["verified_by"] == "reviewer R"
    assert record["seconds_spent"] == 120.0
    assert open_dataset(dataset.root).status(dataset.case("case_001")) == VERIFIED


def test_a_case_that_fails_to_load_keeps_the_current_case(scene, dataset):
    session = AnnotationSession(scene, dataset, "a")
    session.open_case("case_001")
    case = dataset.case("case_002")
    case.image.write_bytes(b"not an image")
    with pytest.raises(InputError, match="case_002"):
        session.open_case("case_002")
    assert session.case.id == "case_001" and scene.IsNodePresent(session.volume_node)


def test_real_ct_label_loads_and_saves_on_its_exact_grid(scene, tmp_path, real_data):
    ct = sitk.ReadImage(str(real_data / "totalsegmentator" / "example_ct_sm.nii.gz"))
    total = sitk.ReadImage(str(real_data / "totalsegmentator" / "example_seg.nii.gz"))
    liver = sitk.Cast(total == 5, sitk.sitkUInt8)  # TotalSegmentator's liver
    dataset = open_dataset(write_nnunet(tmp_path / "Dataset504", {"real": (ct, liver)},
                                        {"background": 0, "liver": 1}))
    session = AnnotationSession(scene, dataset, "a")
    session.open_case("real")
    liver_array = sitk.GetArrayFromImage(liver).astype(bool)
    assert liver_array.sum() == 38634
    assert np.array_equal(session.current_masks()["liver"], liver_array)

    erased = paint(session, "liver", (slice(10, 20), slice(30, 60), slice(40, 80)), erase=True)
    session.save()

    saved = sitk.ReadImage(str(dataset.case("real").label))
    assert saved.GetSize() == ct.GetSize() and saved.GetDirection() == ct.GetDirection()
    assert np.array_equal(sitk.GetArrayFromImage(saved).astype(bool), liver_array & ~erased)
    assert (liver_array & erased).sum() > 500


def finish_prelabel(session, timeout_s: float) -> list:
    events, deadline = [], time.monotonic() + timeout_s
    while not (events and isinstance(events[-1], FinishedEvent)):
        assert time.monotonic() < deadline, "the pre-label did not finish"
        events += session.poll_prelabel()
        time.sleep(0.1)
    return events


def test_a_prelabel_never_overwrites_what_was_painted_while_it_ran(scene, tmp_path, stand_in_python):
    dataset = open_dataset(write_nnunet(tmp_path / "Dataset506", {"new": (phantom_case(3)[0], None)}))
    session = AnnotationSession(scene, dataset, "a")
    session.open_case("new")
    session.start_prelabel(EngineOptions("stand-in", device="cpu"), stand_in_python)
    painted = paint(session, "liver", (slice(5, 8), slice(5, 8), slice(5, 8)))

    finished = finish_prelabel(session, 60)[-1]

    assert finished.status is RunStatus.FAILED
    assert finished.message == ("The case was edited during the pre-label, so it was not saved; the AI's result "
                                "is in 'new FLR segmentation'")
    assert not session.case.has_label and dataset.store.record("new")["saves"] == []
    assert np.array_equal(session.current_masks()["liver"], painted)
    assert scene.GetFirstNodeByName("new FLR segmentation") is not None


def test_prelabel_with_the_real_engine_is_saved_with_its_model(scene, tmp_path, demo_package):
    ct, _ = phantom_case(3, RIGHT_HANDED, size=(60, 48, 40))
    dataset = open_dataset(write_nnunet(tmp_path / "Dataset505", {"new": (ct, None)}))
    session = AnnotationSession(scene, dataset, "annotator A")
    session.open_case("new")
    assert dataset.status(session.case) == NOT_STARTED

    session.start_prelabel(EngineOptions(str(demo_package), device="cpu", fast=True), sys.executable)
    events = finish_prelabel(session, 600)

    assert events[-1].status is RunStatus.SUCCEEDED, events[-1].message + events[-1].details
    assert events[-1].message.startswith("Pre-labelled with ")
    record = dataset.store.record("new")
    assert record["prelabel_model"]["id"] == "demo-phantom" and record["prelabel_model"]["strategy"] == "cascade"
    assert record["saves"][0]["kind"] == "prelabel" and record["saves"][0]["who"] == "annotator A"
    assert dataset.status(session.case) == PRELABELLED
    saved = dataset.read_label(session.case)
    assert saved["liver"].sum() > 1000
    assert record["saves"][0]["voxels_changed"] == int(saved["liver"].sum())
    assert scene.GetNodesByClass("vtkMRMLSegmentationNode").GetNumberOfItems() == 1  # the job's node was adopted
    assert not session.has_unsaved_edits()
    shown = session.current_masks()
    for key in ("liver", "crlm", "flr"):
        assert np.array_equal(shown[key], saved[key]), key
    with pytest.raises(InputError, match="has a label already"):
        session.start_prelabel(EngineOptions(str(demo_package), device="cpu", fast=True), sys.executable)
