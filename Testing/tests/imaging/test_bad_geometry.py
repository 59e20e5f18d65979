"""Headers and DICOM series whose geometry would silently give wrong volumes are refused with one line.

NIfTI pixdim NaN, inf, 0 or negative (ITK would use 1 mm), MetaImage spacing 0 or negative and sheared directions;
DICOM series built from the real slices in ../shared/data/real/dcmqi-ct-3slice with a duplicated slice, missing
slices, non-uniform spacing, a tilt and mixed orientations. A sheared .seg.nrrd is measured by its determinant.
"""

import shutil
import struct

import nrrd
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from FLRSegmentationLib.cli.main import main
from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.imaging.ct_input import check_input, read_ct
from FLRSegmentationLib.imaging.header_check import NIFTI1_PIXDIM
from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.volumetry.segmentation_volumes import measure_segmentation_file


def small_ct(path, spacing=(2.0, 2.0, 3.0)):
    image = sitk.Image([8, 8, 6], sitk.sitkInt16)
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))
    return path


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0.0, -2.0])
def test_a_bad_nifti_pixdim_is_refused_not_replaced(tmp_path, value):
    path = small_ct(tmp_path / "ct.nii")
    data = bytearray(path.read_bytes())
    data[NIFTI1_PIXDIM + 8:NIFTI1_PIXDIM + 12] = struct.pack("<f", value)  # pixdim[2]
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="ct.nii: the (NIfTI header's pixdim|header's voxel spacing)"):
        check_input(path)


def mha(path, spacing="1 1 3", matrix="1 0 0 0 1 0 0 0 1"):
    path.write_text(f"ObjectType = Image\nNDims = 3\nDimSize = 4 4 4\nElementType = MET_SHORT\nElementSpacing = "
                    f"{spacing}\nTransformMatrix = {matrix}\nElementDataFile = LOCAL\n")
    with open(path, "ab") as f:
        f.write(b"\0" * 128)
    return path


@pytest.mark.parametrize("spacing, matrix, expected", [
    ("1 0 3", "1 0 0 0 1 0 0 0 1", "voxel spacing"),
    ("1 -2 3", "1 0 0 0 1 0 0 0 1", "voxel spacing"),
    ("1 nan 3", "1 0 0 0 1 0 0 0 1", "voxel spacing"),
    ("1 1 3", "1 0 0 0.5 1 0 0 0 1", "not orthonormal"),
])
def test_bad_metaimage_geometry_is_refused(tmp_path, spacing, matrix, expected):
    with pytest.raises(InputError, match=expected):
        check_input(mha(tmp_path / "ct.mha", spacing, matrix))


def test_a_sheared_input_in_a_batch_stops_it_before_the_first_case(tmp_path, capsys):
    good = tmp_path / "good.nrrd"
    sitk.WriteImage(make_phantom(1, base_spacing=8.0)[0], str(good))
    sheared = mha(tmp_path / "sheared.mha", matrix="1 0 0 0.5 1 0 0 0 1")
    out = tmp_path / "out"
    code = main(["segment", str(good), str(sheared), "-o", str(out), "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "sheared.mha" in err[0] and "orthonormal" in err[0]
    assert not out.exists()


def test_a_sheared_seg_nrrd_is_measured_by_its_determinant(tmp_path):
    reference = sitk.Image([10, 10, 10], sitk.sitkUInt8)
    reference.SetSpacing((2.0, 2.0, 2.0))
    liver = np.zeros((10, 10, 10), bool)
    liver[2:8, 2:8, 2:8] = True
    path = tmp_path / "sheared.seg.nrrd"
    write_seg_nrrd(path, {"liver": liver, "crlm": np.zeros_like(liver), "flr": liver}, reference)
    data, header = nrrd.read(str(path))
    directions = np.asarray(header["space directions"], float)
    directions[-2] = directions[-2] + directions[-3]  # the y axis leans 45 degrees towards x: same det, longer axis
    header["space directions"] = directions
    nrrd.write(str(path), data, header)
    volumes = measure_segmentation_file(path)
    assert volumes["liver_ml"] == pytest.approx(6 ** 3 * 8 / 1000)  # |det| = 8 mm^3, not 8 * sqrt(2)


# --- DICOM series built from the real slices ---

def real_series(real_data, folder, n=6, edit=lambda i, ds: None, skip=()):
    """n slices 1 mm apart, each a real slice of dcmqi-ct-3slice with its position set; edit(i, ds) changes one."""
    folder.mkdir()
    sources = sorted((real_data / "dcmqi-ct-3slice").glob("0*.dcm"))
    first = pydicom.dcmread(sources[0])
    origin = [float(v) for v in first.ImagePositionPatient]
    uid = pydicom.uid.generate_uid()
    for i in range(n):
        if i in skip:
            continue
        ds = pydicom.dcmread(sources[i % len(sources)])
        ds.SeriesInstanceUID = uid
        ds.SOPInstanceUID = pydicom.uid.generate_uid()
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [origin[0], origin[1], origin[2] + i]
        ds.InstanceNumber = i + 1
        edit(i, ds)
        ds.save_as(folder / f"slice{i:02d}.dcm")
    return folder


def test_a_regular_series_of_real_slices_reads(real_data, tmp_path):
    folder = real_series(real_data, tmp_path / "ok")
    check_input(folder)
    image = read_ct(folder)
    assert image.GetSize()[2] == 6 and image.GetSpacing()[2] == pytest.approx(1.0)


def duplicate(real_data, folder):
    real_series(real_data, folder)
    ds = pydicom.dcmread(folder / "slice02.dcm")
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(folder / "slice02_copy.dcm")
    return folder


def shift_z(i, ds):
    if i >= 3:
        ds.ImagePositionPatient = [*ds.ImagePositionPatient[:2], float(ds.ImagePositionPatient[2]) + 0.5]


def tilt(i, ds):
    ds.ImagePositionPatient = [float(ds.ImagePositionPatient[0]) + 0.3 * i, *ds.ImagePositionPatient[1:]]


def mixed(i, ds):
    if i >= 3:
        ds.ImageOrientationPatient = [1, 0, 0, 0, 0.8, -0.6]


@pytest.mark.parametrize("name, build, expected", [
    ("duplicated", duplicate, "slices slice02.dcm and slice02_copy.dcm are at the same position"),
    ("missing", lambda r, f: real_series(r, f, n=8, skip=(3, 4)), "slice spacing varies.*slice02.dcm and slice05"),
    ("uneven", lambda r, f: real_series(r, f, edit=shift_z), "slice spacing varies.*slice02.dcm and slice03"),
    ("tilted", lambda r, f: real_series(r, f, edit=tilt), "slices slice01.dcm.*shifted sideways"),
    ("mixed", lambda r, f: real_series(r, f, edit=mixed), "slices slice03.dcm.*another orientation"),
])
def test_broken_series_are_refused_naming_the_slices(real_data, tmp_path, capsys, name, build, expected):
    folder = build(real_data, tmp_path / name)
    with pytest.raises(InputError, match=expected):
        check_input(folder)
    out = tmp_path / "out"
    code = main(["segment", str(folder), "-o", str(out), "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and name in err[0], err
    assert not out.exists()


def test_the_dataset_tools_use_the_same_checks(real_data, tmp_path):
    from FLRSegmentationLib.imaging.dicom_series import read_acquisition, scan_folder

    folder = duplicate(real_data, tmp_path / "dup")
    with pytest.raises(InputError, match="at the same position"):
        read_acquisition(list(scan_folder(folder).ct))
    shutil.rmtree(folder)
