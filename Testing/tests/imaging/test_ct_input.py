"""The input reader: exact geometry and HU for every format, and one clear line for every bad input."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.uid import generate_uid

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.imaging.ct_input import case_name, check_input, dicom_study, read_ct
from FLRSegmentationLib.imaging.dicom_study import series_case_name, study_text

CT_SLICES = ("01.dcm", "02.dcm", "03.dcm")
# NIfTI stores geometry as float32, NRRD stores direction * spacing: both round trips are exact only to these
GEOMETRY_TOLERANCE = {".nii.gz": 1e-5, ".nii": 1e-5, ".nrrd": 1e-12, ".nhdr": 1e-12, ".mha": 0.0, ".mhd": 0.0}


def _oblique_image(size=(7, 6, 5)) -> sitk.Image:
    """A small int16 volume with anisotropic spacing and an oblique, non-LPS direction."""
    array = np.arange(np.prod(size), dtype=np.int16).reshape(size[::-1]) * 7 - 1024
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.7, 1.3, 2.9))
    image.SetOrigin((-12.5, 3.25, 40.1))
    image.SetDirection(sitk.Euler3DTransform((0, 0, 0), 0.3, -0.5, 2.0).GetMatrix())
    return image


def _assert_same_geometry(image: sitk.Image, reference: sitk.Image, tolerance: float = 0.0) -> None:
    assert image.GetSize() == reference.GetSize()
    for getter in ("GetSpacing", "GetOrigin", "GetDirection"):
        np.testing.assert_allclose(getattr(image, getter)(), getattr(reference, getter)(), rtol=0, atol=tolerance)


def _snapshot(folder: Path) -> dict[str, str]:
    """Every entry under `folder` with its content hash, to see that reading changed and added nothing."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "folder"
            for p in folder.rglob("*")}


def _copy_slices(source: Path, folder: Path, names=CT_SLICES) -> Path:
    folder.mkdir(parents=True)
    for name in names:
        shutil.copy(source / name, folder / name)
    return folder


@pytest.mark.parametrize("ext", list(GEOMETRY_TOLERANCE))
def test_round_trip_keeps_geometry_and_voxels(tmp_path, ext):
    original = _oblique_image()
    path = tmp_path / f"ct{ext}"
    sitk.WriteImage(original, str(path))
    image = read_ct(path)
    assert image.GetPixelID() == sitk.sitkFloat32
    _assert_same_geometry(image, sitk.ReadImage(str(path)))  # untouched: exactly what the file holds
    _assert_same_geometry(image, original, GEOMETRY_TOLERANCE[ext])
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(image), sitk.GetArrayViewFromImage(original))


@pytest.mark.parametrize("name, expected", [("a/ct_01.nii.gz", "ct_01"), ("CT.NII.GZ", "CT"), ("x.nii", "x"),
                                            ("p.1.nrrd", "p.1"), ("h.nhdr", "h"), ("m.mha", "m"), ("m.mhd", "m")])
def test_case_name_of_file(name, expected):
    assert case_name(Path(name)) == expected


def test_case_name_of_a_folder_without_a_series_is_the_folders(tmp_path):
    folder = tmp_path / "patient.7"
    folder.mkdir()
    assert case_name(folder) == "patient.7"  # check_input reports what is wrong with it


def test_dicom_case_is_named_from_its_series(real_data, tmp_path):
    folder = _copy_slices(real_data / "dcmqi-ct-3slice", tmp_path / "DICOM", CT_SLICES)
    assert case_name(folder) == "99000_S2"  # PatientID 99000, SeriesNumber 2; not the folder's name "DICOM"
    study = dicom_study(folder)
    assert (study["PatientName"], study["StudyDate"]) == ("JANCT000", "20030417")
    assert study_text(study) == ["Patient: JANCT000 (ID 99000)", "Study: 2003-04-17", "Series: series 2"]
    assert series_case_name({"SeriesDescription": "Abdomen 1.25mm / portal"}, "x") == "Abdomen_1.25mm_portal"
    assert series_case_name({}, "DICOM") == "DICOM"


def test_real_nifti_ct(real_data):
    path = real_data / "totalsegmentator" / "example_ct_sm.nii.gz"
    check_input(path)
    image = read_ct(path)
    reference = sitk.ReadImage(str(path))
    assert image.GetSize() == (122, 101, 30)
    assert image.GetSpacing() == (3.0, 3.0, 3.0)
    assert image.GetDirection()[0] == -1
    _assert_same_geometry(image, reference)
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(image), sitk.GetArrayViewFromImage(reference))


@pytest.mark.parametrize("with_seg", [False, True], ids=["ct-only", "with-seg"])
def test_real_dicom_series_in_hu(real_data, tmp_path, with_seg):
    source = real_data / "dcmqi-ct-3slice"
    folder = _copy_slices(source, tmp_path / "series", CT_SLICES + (("liver.dcm",) if with_seg else ()))
    check_input(folder)
    image = read_ct(folder)
    assert image.GetSize() == (512, 512, 3)
    assert image.GetSpacing()[2] == pytest.approx(1.0, abs=1e-6)
    assert image.GetPixelID() == sitk.sitkFloat32
    array = sitk.GetArrayViewFromImage(image)
    for name in CT_SLICES:
        ds = pydicom.dcmread(source / name)
        k = image.TransformPhysicalPointToIndex([float(v) for v in ds.ImagePositionPatient])[2]
        np.testing.assert_allclose(image.TransformIndexToPhysicalPoint((0, 0, k)), ds.ImagePositionPatient,
                                   atol=1e-4)
        hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        np.testing.assert_array_equal(array[k], hu)


def _write(image: sitk.Image, path: Path) -> Path:
    sitk.WriteImage(image, str(path))
    return path


def _truncated(source: Path, path: Path) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path


def _two_series(real_data: Path, folder: Path) -> Path:
    """The three real slices plus copies of them as a second series; liver.dcm (a SEG) is there too."""
    source = real_data / "dcmqi-ct-3slice"
    _copy_slices(source, folder, CT_SLICES + ("liver.dcm",))
    series_uid = generate_uid()
    for name in CT_SLICES:
        ds = pydicom.dcmread(source / name)
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.SeriesDescription = "copy"
        ds.save_as(folder / f"copy_{name}")
    return folder


def _text_folder(folder: Path) -> Path:
    folder.mkdir()
    for name in ("notes.txt", "readme.md"):
        (folder / name).write_text("not an image\n")
    return folder


def _synthetic_case(kind: str, tmp_path: Path) -> Path:
    if kind == "missing":
        return tmp_path / "absent.nii.gz"
    if kind == "unsupported":
        return _write(sitk.GetImageFromArray(np.zeros((4, 5), np.uint8)), tmp_path / "scan.png")
    if kind == "not-an-image":
        path = tmp_path / "notes.nii.gz"
        path.write_text("not an image\n")
        return path
    if kind == "2d":
        return _write(sitk.GetImageFromArray(np.zeros((4, 5), np.int16)), tmp_path / "flat.nrrd")
    if kind == "one-slice":
        return _write(_oblique_image(size=(7, 6, 1)), tmp_path / "slab.nii.gz")
    if kind == "rgb":
        return _write(sitk.GetImageFromArray(np.zeros((3, 4, 5, 3), np.uint8), isVector=True), tmp_path / "rgb.mha")
    if kind == "4d":
        return _write(sitk.JoinSeries([_oblique_image(), _oblique_image()]), tmp_path / "cine.nii.gz")
    if kind == "empty-folder":
        (tmp_path / "empty").mkdir()
        return tmp_path / "empty"
    return _text_folder(tmp_path / "texts")


@pytest.mark.parametrize("kind, fragment", [
    ("missing", "no such file"), ("unsupported", "unsupported file format"), ("not-an-image", "not an image"),
    ("2d", "2D image"), ("one-slice", "single slice"), ("rgb", "colour"), ("4d", "4D image"),
    ("empty-folder", "empty"), ("text-folder", "no DICOM files")])
def test_bad_synthetic_input(tmp_path, kind, fragment):
    path = _synthetic_case(kind, tmp_path)
    for function in (check_input, read_ct):
        _assert_input_error(function, path, fragment)


def _real_case(kind: str, real_data: Path, tmp_path: Path) -> Path:
    source = real_data / "dcmqi-ct-3slice"
    if kind == "two-series":
        return _two_series(real_data, tmp_path / "study")
    if kind == "seg-only":
        return _copy_slices(source, tmp_path / "segs", ("liver.dcm",))
    return _copy_slices(source, tmp_path / "single", ("02.dcm",))


@pytest.mark.parametrize("kind, fragment", [
    ("two-series", "2 CT series"), ("seg-only", "no CT series, only SEG series"), ("one-dicom-slice", "2D image")])
def test_bad_dicom_folder(real_data, tmp_path, kind, fragment):
    path = _real_case(kind, real_data, tmp_path)
    for function in (check_input, read_ct):
        message = _assert_input_error(function, path, fragment)
    if kind == "two-series":
        for name in ("01.dcm", "copy_01.dcm"):
            uid = pydicom.dcmread(path / name).SeriesInstanceUID
            assert uid in message
        assert message.count("(3 files)") == 2 and '"copy"' in message and "SEG" not in message


@pytest.mark.parametrize("ext", [".nii.gz", ".nii", ".nrrd", ".mha"])
def test_truncated_file(real_data, tmp_path, ext):
    """The header survives, so check_input passes; reading the voxels must fail, not return zeros."""
    whole = _write(sitk.ReadImage(str(real_data / "totalsegmentator" / "example_ct_sm.nii.gz")), tmp_path / f"a{ext}")
    path = _truncated(whole, tmp_path / f"cut{ext}")
    check_input(path)
    _assert_input_error(read_ct, path, "truncated")


def _assert_input_error(function, path: Path, fragment: str) -> str:
    with pytest.raises(InputError) as caught:
        function(path)
    message = str(caught.value)
    assert "\n" not in message and path.name in message and fragment in message
    assert "ITK" not in message and "Exception thrown" not in message
    return message


def test_input_is_not_modified(real_data, tmp_path):
    inputs = tmp_path / "inputs"
    _copy_slices(real_data / "dcmqi-ct-3slice", inputs / "dicom", CT_SLICES + ("liver.dcm",))
    shutil.copy(real_data / "totalsegmentator" / "example_ct_sm.nii.gz", inputs / "ct.nii.gz")
    _write(_oblique_image(), inputs / "ct.nrrd")
    before = _snapshot(inputs)
    for path in (inputs / "dicom", inputs / "ct.nii.gz", inputs / "ct.nrrd"):
        check_input(path)
        read_ct(path)
    assert _snapshot(inputs) == before
