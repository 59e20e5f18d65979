"""Provenance inside `.seg.nrrd`: it survives Slicer's own storage node (read, edit a segment, write, read), tells an
edited segmentation from an untouched one, and every report from a demo-made file carries the mark."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk
import slicer
from vtkmodules.util import numpy_support

from FLRSegmentationLib.cli.main import main
from FLRSegmentationLib.imaging.provenance import mask_signature, index_to_lps, segmentation_provenance
from FLRSegmentationLib.imaging.seg_nrrd import read_seg_nrrd_provenance, write_seg_nrrd

DEMO = {"id": "demo-phantom", "version": "1.0.0", "demo": True, "label": "demo-phantom 1.0.0 (demo | not clinical)"}


@pytest.fixture
def reference() -> sitk.Image:
    image = sitk.Image([24, 20, 12], sitk.sitkInt16)  # x, y, z; oblique and anisotropic
    image.SetSpacing([0.8, 0.7, 2.5])
    image.SetOrigin([-30.5, 12.25, -80.0])
    c, s = np.cos(0.3), np.sin(0.3)
    image.SetDirection([c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0])
    return image


@pytest.fixture
def demo_file(tmp_path, reference):
    liver = np.zeros((12, 20, 24), bool)
    liver[2:10, 3:17, 4:20] = True
    crlm = np.zeros_like(liver)
    crlm[4:6, 6:9, 12:15] = True
    flr = liver & ~crlm
    flr[:, :, 11:] = False
    path = tmp_path / "case.seg.nrrd"
    provenance = segmentation_provenance(DEMO, "cascade", "case.nii.gz", reference, "9.9.9")
    write_seg_nrrd(path, {"liver": liver, "crlm": crlm, "flr": flr}, reference, provenance)
    return path


def slicer_write(scene, node, path) -> None:
    storage = scene.AddNewNodeByClass("vtkMRMLSegmentationStorageNode")
    storage.SetFileName(str(path))
    storage.SetCropToMinimumExtent(True)  # as Slicer's save dialog does by default
    assert storage.WriteData(node) == 1


def paint(node, segment_id: str, index_zyx, value: int = 1) -> None:
    """Paint (1) or erase (0) one voxel of a segment, indexed in the liver's labelmap, through MRML as the Segment
    Editor does."""
    labelmap = slicer.vtkOrientedImageData()
    node.GetBinaryLabelmapRepresentation("liver", labelmap)
    voxels = numpy_support.vtk_to_numpy(labelmap.GetPointData().GetScalars()).reshape(labelmap.GetDimensions()[::-1])
    voxels[:] = 0
    current = slicer.vtkOrientedImageData()
    node.GetBinaryLabelmapRepresentation(segment_id, current)
    resampled = slicer.vtkOrientedImageData()
    slicer.vtkOrientedImageDataResample.ResampleOrientedImageToReferenceOrientedImage(current, labelmap, resampled)
    voxels[:] = numpy_support.vtk_to_numpy(resampled.GetPointData().GetScalars()).reshape(voxels.shape) > 0
    voxels[index_zyx] = value
    labelmap.Modified()
    logic = slicer.vtkSlicerSegmentationsModuleLogic
    assert logic.SetBinaryLabelmapToSegment(labelmap, node, segment_id, logic.MODE_REPLACE)


def test_provenance_survives_slicer_and_an_edit_is_detected(tmp_path, scene, read_with_slicer, demo_file, reference):
    masks, grid, made = read_seg_nrrd_provenance(demo_file)
    assert made["edited"] is False and made["model"] == {**DEMO, "label": "demo-phantom 1.0.0 (demo / not clinical)"}
    assert made["strategy"] == "cascade" and made["engine"] == {"flrseg": "9.9.9"}
    assert made["input"]["name"] == "case.nii.gz" and made["input"]["size"] == [24, 20, 12]
    assert made["input"]["spacing"] == [0.8, 0.7, 2.5] and made["created"].endswith("+00:00")
    assert set(made["segments"]) == {"Liver", "CRLM", "FLR"}

    node = read_with_slicer(demo_file)
    resaved = tmp_path / "resaved.seg.nrrd"
    slicer_write(scene, node, resaved)  # Slicer crops each layer to its extent and writes its own header
    _, regrid, kept = read_seg_nrrd_provenance(resaved)
    assert regrid.GetSize() != grid.GetSize()  # cropped: the signature must not depend on the file's grid
    assert kept["edited"] is False and kept["model"] == made["model"] and kept["created"] == made["created"]

    paint(node, "flr", (-1, -1, -1))  # one voxel outside the old FLR, at the far corner of the liver's extent
    edited = tmp_path / "edited.seg.nrrd"
    slicer_write(scene, node, edited)
    _, _, after = read_seg_nrrd_provenance(edited)
    assert after["edited"] is True and after["edited_segments"] == ["FLR"] and after["model"]["demo"] is True


def test_signature_ignores_the_grid_but_not_a_voxel(reference):
    mask = np.zeros((12, 20, 24), bool)
    mask[3:6, 4:9, 5:7] = True
    matrix = index_to_lps(reference)
    cropped = sitk.RegionOfInterest(reference, [2, 5, 3], [5, 4, 3])  # size, index: the same voxels, cropped
    assert mask_signature(mask[3:6, 4:9, 5:7], index_to_lps(cropped)) == mask_signature(mask, matrix)
    moved = np.roll(mask, 1, axis=2)
    assert mask_signature(moved, matrix) != mask_signature(mask, matrix)
    assert mask_signature(np.zeros_like(mask), matrix) == "empty"


def test_report_from_an_edited_demo_segmentation_carries_the_mark(tmp_path, scene, read_with_slicer, demo_file,
                                                                  capsys):
    node = read_with_slicer(demo_file)
    paint(node, "liver", (0, 0, 0), value=0)  # erase one liver voxel
    edited = tmp_path / "edited.seg.nrrd"
    slicer_write(scene, node, edited)
    html, report = tmp_path / "report.html", tmp_path / "report.json"
    assert main(["volumetry", str(edited), "--html", str(html), "--json", str(report)]) == 0
    captured = capsys.readouterr()
    assert "NOT FOR CLINICAL USE" in captured.err and "NOT FOR CLINICAL USE" not in captured.out
    page = html.read_text()
    assert "NOT FOR CLINICAL USE" in page and "edited after demo-phantom 1.0.0" in page
    data = json.loads(report.read_text())
    assert data["provenance"]["edited"] is True and data["provenance"]["edited_segments"] == ["Liver"]


def test_a_file_without_provenance_says_not_recorded(tmp_path, reference, capsys):
    path = tmp_path / "plain.seg.nrrd"
    mask = np.zeros((12, 20, 24), bool)
    mask[2:8, 2:8, 2:8] = True
    write_seg_nrrd(path, {"liver": mask, "crlm": np.zeros_like(mask), "flr": mask}, reference)
    assert read_seg_nrrd_provenance(path)[2] is None
    html = tmp_path / "r.html"
    assert main(["volumetry", str(path), "--html", str(html)]) == 0
    assert "not recorded" in html.read_text() and "NOT FOR CLINICAL USE" not in capsys.readouterr().err
