"""Images that are not a CT in HU are refused before any network runs: one line, exit 2, nothing written."""

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.imaging.ct_input import read_ct
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.cli.main import main


def run_cli(argv, capsys):
    code = main(argv)
    return code, capsys.readouterr().err


def assert_one_clear_line(code, err, expected):
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith("flrseg: error: ") and expected in lines[0] and "Traceback" not in err


def nan_phantom(path, value=np.nan):
    ct, _ = make_phantom(1)
    array = sitk.GetArrayFromImage(ct).astype(np.float32)
    array[10, 20:23, 30] = value
    image = sitk.GetImageFromArray(array)
    image.CopyInformation(ct)
    sitk.WriteImage(image, str(path))
    return path


def mr_like(real_data, path):
    """The real CT's intensities moved to an MR-like positive range: nothing below -500 is left."""
    ct = sitk.ReadImage(str(real_data / "totalsegmentator" / "example_ct_sm.nii.gz"))
    array = np.clip((sitk.GetArrayFromImage(ct).astype(np.float32) + 1024) * 0.6, 0, None)
    image = sitk.GetImageFromArray(array)
    image.CopyInformation(ct)
    sitk.WriteImage(image, str(path))
    return path


def mr_dicom_series(real_data, folder):
    folder.mkdir()
    uid = pydicom.uid.generate_uid()
    for src in sorted((real_data / "dcmqi-ct-3slice").glob("0*.dcm")):
        ds = pydicom.dcmread(src)
        ds.Modality, ds.SeriesInstanceUID, ds.SOPInstanceUID = "MR", uid, pydicom.uid.generate_uid()
        ds.save_as(folder / src.name)
    return folder


@pytest.mark.parametrize("kind, expected", [
    ("nan", "3 NaN and 0 infinite voxel value(s)"), ("inf", "0 NaN and 3 infinite voxel value(s)"),
    ("mr-like", "no voxel below -500"), ("mr-dicom", "no CT series, only MR series")])
def test_not_a_ct_in_hu_is_refused_with_one_line_and_no_output(tmp_path, real_data, capsys, kind, expected):
    path = {"nan": lambda: nan_phantom(tmp_path / "nan.nii.gz"),
            "inf": lambda: nan_phantom(tmp_path / "inf.nrrd", np.inf),
            "mr-like": lambda: mr_like(real_data, tmp_path / "example_mr_like.nii.gz"),
            "mr-dicom": lambda: mr_dicom_series(real_data, tmp_path / "mr_series")}[kind]()
    out = tmp_path / "out"
    code, err = run_cli(["segment", str(path), "-o", str(out), "--device", "cpu"], capsys)
    assert_one_clear_line(code, err, expected)
    assert not out.exists()


def test_real_ct_and_phantoms_pass_the_hu_check(real_data, tmp_path):
    read_ct(real_data / "totalsegmentator" / "example_ct_sm.nii.gz")
    read_ct(real_data / "dcmqi-ct-3slice")
    path = tmp_path / "p.nrrd"
    sitk.WriteImage(make_phantom(2)[0], str(path))
    assert read_ct(path).GetPixelID() == sitk.sitkFloat32
    with pytest.raises(InputError, match="lowest is 0"):
        read_ct(mr_like(real_data, tmp_path / "mr.nrrd"))
