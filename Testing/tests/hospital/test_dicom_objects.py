"""`flrseg segment` on a DICOM CT series writes a DICOM SEG and a TID 1500 SR that a PACS can take as they are:
segments coded from our terminology table, frames on the CT's voxels, the report's numbers in the SR, both valid
by dciodvfy. The run is a real subprocess with the demo model, once per module."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
import SimpleITK as sitk
from dicom_checks import assert_seg_matches_label_map, assert_sr_matches_report
from dicom_phantoms import write_ct_series
from flrseg_process import flrseg

from FLRSegmentationLib.imaging.ct_input import case_name
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.vocabulary.segments import SEGMENTS


@pytest.fixture(scope="module")
def phantom_run(tmp_path_factory):
    """A phantom CT written as a DICOM series, segmented with the demo model and a body size (for sFLR)."""
    root = tmp_path_factory.mktemp("dicom-objects")
    ct, _ = make_phantom(3)
    uids = write_ct_series(ct, root / "phantom")
    flrseg("segment", root / "phantom", "-o", root / "out", "--device", "cpu", "--progress", "none",
           "--height-cm", 175, "--weight-kg", 80)
    return root / "phantom", root / "out", uids


def outputs(out: Path, folder: Path, suffix: str) -> Path:
    """A case's output file: DICOM cases are named from their series (PatientID and SeriesNumber)."""
    return out / f"{case_name(folder)}{suffix}"


def test_seg_segments_codes_algorithm_and_demo_mark(phantom_run):
    folder, out, uids = phantom_run
    seg = pydicom.dcmread(outputs(out, folder, "_seg.dcm"))
    report = json.loads((outputs(out, folder, "_report.json")).read_text())
    assert seg.Modality == "SEG" and seg.SegmentationType == "BINARY"
    assert "NOT FOR CLINICAL USE" in seg.SeriesDescription
    assert [s.SegmentLabel for s in seg.SegmentSequence] == ["Liver", "CRLM", "FLR"]
    for item, segment in zip(seg.SegmentSequence, SEGMENTS):
        assert item.SegmentedPropertyTypeCodeSequence[0].CodeValue == segment.type.value
        assert item.SegmentedPropertyTypeCodeSequence[0].CodingSchemeDesignator == segment.type.scheme
        assert item.SegmentedPropertyCategoryCodeSequence[0].CodeValue == segment.category.value
        assert item.SegmentAlgorithmType == "AUTOMATIC"
        assert item.SegmentAlgorithmName == report["model"]["title"][:64]
        assert item.SegmentationAlgorithmIdentificationSequence[0].AlgorithmVersion == report["model"]["version"]
    assert seg.SegmentSequence[0].SegmentedPropertyTypeCodeSequence[0].CodeValue == "10200004"  # SNOMED liver
    assert seg.SegmentSequence[1].AnatomicRegionSequence[0].CodeValue == "10200004"  # CRLM: in the liver
    assert seg.StudyInstanceUID == uids.study and seg.PatientID == "FLRSEG-PHANTOM-1"


def test_seg_references_and_frames_land_on_the_ct_voxels(phantom_run):
    folder, out, uids = phantom_run
    header = assert_seg_matches_label_map(outputs(out, folder, "_seg.dcm"), folder, outputs(out, folder, "_seg.nii.gz"))
    assert header.frame_of_reference == uids.frame_of_reference
    assert header.series_uids == {uids.series}
    assert header.instance_uids == set(uids.instances)


def test_sr_measurements_equal_the_report(phantom_run):
    folder, out, _ = phantom_run
    sr = pydicom.dcmread(outputs(out, folder, "_sr.dcm"))
    report = json.loads((outputs(out, folder, "_report.json")).read_text())
    assert sr.Modality == "SR" and "NOT FOR CLINICAL USE" in sr.SeriesDescription
    assert report["sflr_percent"] is not None and "NOT FOR CLINICAL USE" in report["warnings"][0]["message"]
    assert_sr_matches_report(sr, pydicom.dcmread(outputs(out, folder, "_seg.dcm")), report)


def test_both_objects_pass_dciodvfy(phantom_run, dciodvfy):
    folder, out, _ = phantom_run
    for suffix in ("_seg.dcm", "_sr.dcm"):
        assert dciodvfy(outputs(out, folder, suffix)) == [], suffix


def test_real_ct_slices_give_valid_objects_on_their_instances(real_data, tmp_path, dciodvfy):
    """The dcmqi slices (a real GE CT) as the input: objects written on them, whatever the demo model finds."""
    folder = tmp_path / "dcmqi"
    folder.mkdir()
    for name in ("01.dcm", "02.dcm", "03.dcm"):
        shutil.copyfile(real_data / "dcmqi-ct-3slice" / name, folder / name)
    flrseg("segment", folder, "-o", tmp_path / "out", "--device", "cpu", "--progress", "none")
    header = assert_seg_matches_label_map(outputs(tmp_path / "out", folder, "_seg.dcm"), folder,
                                          outputs(tmp_path / "out", folder, "_seg.nii.gz"), require_content=False)
    sources = [pydicom.dcmread(folder / name, stop_before_pixels=True) for name in ("01.dcm", "02.dcm", "03.dcm")]
    assert header.instance_uids == {str(s.SOPInstanceUID) for s in sources}
    for suffix in ("_seg.dcm", "_sr.dcm"):
        assert dciodvfy(outputs(tmp_path / "out", folder, suffix)) == [], suffix


def test_no_dicom_output_and_file_inputs(phantom_run, tmp_path):
    """--dicom-output with a NIfTI input is refused before anything runs; NIfTI inputs get no DICOM objects."""
    ct, _ = make_phantom(3)
    path = tmp_path / "ct.nii.gz"
    sitk.WriteImage(ct, str(path))
    done = flrseg("segment", path, "-o", tmp_path / "out", "--dicom-output", check=False)
    assert done.returncode == 2 and "--dicom-output" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
    folder, _, _ = phantom_run
    flrseg("segment", folder, "-o", tmp_path / "plain", "--no-dicom-output", "--device", "cpu", "--progress", "none")
    case = case_name(folder)
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == [
        f"{case}.seg.nrrd", f"{case}_preview.png", f"{case}_report.json", f"{case}_seg.nii.gz"]


def test_the_engine_imports_highdicom_only_to_write():
    """The Slicer module's process (pydicom 2.4.4) imports the engine, so highdicom must wait until a write."""
    code = ("import sys; import FLRSegmentationLib.hospital.dicom_outputs, FLRSegmentationLib.cli.main; "
            "print('highdicom' in sys.modules, 'dicomweb_client' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["False", "False"]
