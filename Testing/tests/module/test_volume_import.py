"""Opening a CT for the web app through real MRML (slicer-core): files by Slicer's reader, DICOM folders by the
engine's, both checked by the engine first; the node never points at the user's file."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from pydicom.uid import generate_uid
from vtkmodules.util import numpy_support

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationModuleLib.volume_import import load_ct
from synthetic_tcia import study_attributes, write_ct_series


@pytest.fixture(scope="module")
def phantom_ct():
    return make_phantom(5)[0]


def voxels(volume) -> np.ndarray:
    image = volume.GetImageData()
    return numpy_support.vtk_to_numpy(image.GetPointData().GetScalars()).reshape(image.GetDimensions()[::-1])


def test_a_file_is_read_by_slicer_named_after_it_and_left_unreferenced(scene, phantom_ct, tmp_path):
    path = tmp_path / "case 7.nrrd"
    sitk.WriteImage(phantom_ct, str(path))
    private = tmp_path / "private"
    private.mkdir()
    volume = load_ct(scene, path, private)
    assert volume.GetName() == "case 7" and volume.GetStorageNode() is None and volume.GetDisplayNode() is not None
    assert scene.GetNodesByClass("vtkMRMLVolumeArchetypeStorageNode").GetNumberOfItems() == 0
    np.testing.assert_allclose(volume.GetSpacing(), phantom_ct.GetSpacing())
    np.testing.assert_array_equal(voxels(volume), sitk.GetArrayFromImage(phantom_ct))
    assert list(private.iterdir()) == []


def test_a_dicom_folder_is_read_by_the_engine_in_hu_and_its_copy_removed(scene, phantom_ct, tmp_path):
    folder = tmp_path / "series"
    write_ct_series(phantom_ct, folder, study_attributes("P1"), generate_uid(), 1, "ct")
    private = tmp_path / "private"
    private.mkdir()
    volume = load_ct(scene, folder, private)
    assert volume.GetName() == "P1_S2"  # named from the series (PatientID P1, SeriesNumber 2), not the folder
    assert volume.GetImageData().GetDimensions() == phantom_ct.GetSize()
    np.testing.assert_allclose(voxels(volume), sitk.GetArrayFromImage(phantom_ct), atol=0.5)  # HU back
    assert list(private.iterdir()) == []  # the NRRD handed to Slicer is gone


@pytest.mark.parametrize("kind", ["text", "empty folder", "missing"])
def test_what_is_not_a_ct_is_one_line_and_adds_nothing(scene, tmp_path, kind):
    path = tmp_path / {"text": "notes.nrrd", "empty folder": "empty", "missing": "gone.nii.gz"}[kind]
    if kind == "text":
        path.write_text("not an image\n")
    elif kind == "empty folder":
        path.mkdir()
    before = scene.GetNumberOfNodes()
    with pytest.raises(InputError) as error:
        load_ct(scene, path, tmp_path)
    assert "\n" not in str(error.value) and path.name in str(error.value)
    assert scene.GetNumberOfNodes() == before
