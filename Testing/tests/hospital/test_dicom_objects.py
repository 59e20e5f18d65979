"""`flrseg segment` on a DICOM CT series writes a DICOM SEG and a TID 1500 SR that a PACS can take as they are:
segments coded from our terminology table, frames on the CT's voxels, the report's numbers in the SR, both valid
by dciodvfy. The run is a real subprocess with the demo model, once per module."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from dicom_phantoms import write_ct_series
from flrseg_process import flrseg

from FLRSegmentationLib.imaging.ct_input import read_ct
from FLRSegmentationLib.imaging.dicom_seg import read_seg_header, read_segment_masks
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.vocabulary.labels import split_label_map
from FLRSegmentationLib.vocabulary.segments import SEGMENTS

PRIVATE = "99FLRSEG"


@pytest.fixture(scope="module")
def phantom_run(tmp_path_factory):
    """A phantom CT written as a DICOM series, segmented with the demo model and a body size (for sFLR)."""
    root = tmp_path_factory.mktemp("dicom-objects")
    ct, _ = make_phantom(3)
    uids = write_ct_series(ct, root / "phantom")
    flrseg("segment", root / "phantom", "-o", root / "out", "--device", "cpu", "--progress", "none",
           "--height-cm", 175, "--weight-kg", 80)
    return root / "phantom", root / "out", uids


def content_items(dataset):
    """Every SR content item, depth first."""
    for item in dataset.get("ContentSequence", []):
        yield item
        yield from content_items(item)


def test_seg_segments_codes_algorithm_and_demo_mark(phantom_run):
    _, out, uids = phantom_run
    seg = pydicom.dcmread(out / "phantom_seg.dcm")
    report = json.loads((out / "phantom_report.json").read_text())
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
    header = read_seg_header(out / "phantom_seg.dcm")
    assert header.frame_of_reference == uids.frame_of_reference
    assert header.series_uids == {uids.series}
    assert header.instance_uids == set(uids.instances)
    ct = read_ct(folder)
    masks, frames = read_segment_masks(header, ct, uids.frame_of_reference)
    label_map = sitk.GetArrayFromImage(sitk.ReadImage(str(out / "phantom_seg.nii.gz")))
    expected = split_label_map(label_map)
    assert frames == 3 * ct.GetSize()[2]
    for number, segment in enumerate(SEGMENTS, start=1):
        assert expected[segment.key].any(), f"the demo model found no {segment.name}: nothing to compare"
        assert np.array_equal(masks[number], expected[segment.key]), segment.name


def test_sr_measurements_equal_the_report(phantom_run):
    _, out, _ = phantom_run
    sr = pydicom.dcmread(out / "phantom_sr.dcm")
    seg = pydicom.dcmread(out / "phantom_seg.dcm")
    report = json.loads((out / "phantom_report.json").read_text())
    assert sr.Modality == "SR" and "NOT FOR CLINICAL USE" in sr.SeriesDescription
    groups = [item for item in content_items(sr) if item.ConceptNameCodeSequence[0].CodeValue == "125007"]
    assert len(groups) == 3
    found = {}
    for group, segment_number in zip(groups, (1, 2, 3)):
        items = list(content_items(group))
        image = next(i for i in items if i.ValueType == "IMAGE")
        assert image.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == seg.SOPInstanceUID
        assert image.ReferencedSOPSequence[0].ReferencedSegmentNumber == segment_number
        uid = next(i for i in items if i.ValueType == "UIDREF").UID
        assert uid == seg.SegmentSequence[segment_number - 1].TrackingUID
        for item in items:
            if item.ValueType == "NUM":
                code = item.ConceptNameCodeSequence[0]
                found[(segment_number, code.CodeValue)] = float(item.MeasuredValueSequence[0].NumericValue)
            if item.ValueType == "CODE":
                found[(segment_number, item.ConceptNameCodeSequence[0].CodeValue)] = item.ConceptCodeSequence[0].CodeMeaning
    volume = "118565006"
    expected = {(1, volume): report["liver_ml"], (1, "FUNCTIONAL_ML"): report["functional_liver_ml"],
                (2, volume): report["crlm_ml"], (2, "CRLM_COUNT"): report["crlm_count"],
                (3, volume): report["flr_ml"], (3, "FLR_PERCENT"): report["flr_percent"],
                (3, "SFLR_PERCENT"): report["sflr_percent"]}
    assert report["sflr_percent"] is not None
    for key, value in expected.items():
        assert found[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key
    assert found[(3, "FLR_VERDICT")] == report["verdict"] and found[(3, "SFLR_VERDICT")] == report["sflr_verdict"]
    texts = [(item.ConceptNameCodeSequence[0].CodeValue, item.TextValue) for item in content_items(sr)
             if item.ValueType == "TEXT"]
    warnings = [text for code, text in texts if code == "WARNING"]
    assert warnings == report["warnings"] and "NOT FOR CLINICAL USE" in warnings[0]
    assert ("THRESHOLD_RULE", report["threshold_rule"]) in texts
    evidence = {ref.ReferencedSOPInstanceUID for series in sr.CurrentRequestedProcedureEvidenceSequence[0]
                .ReferencedSeriesSequence for ref in series.ReferencedSOPSequence}
    assert seg.SOPInstanceUID in evidence


def test_both_objects_pass_dciodvfy(phantom_run, dciodvfy):
    _, out, _ = phantom_run
    for name in ("phantom_seg.dcm", "phantom_sr.dcm"):
        assert dciodvfy(out / name) == [], name


def test_real_ct_slices_give_valid_objects_on_their_instances(real_data, tmp_path, dciodvfy):
    """The dcmqi slices (a real GE CT) as the input: objects written on them, whatever the demo model finds."""
    folder = tmp_path / "dcmqi"
    folder.mkdir()
    for name in ("01.dcm", "02.dcm", "03.dcm"):
        shutil.copyfile(real_data / "dcmqi-ct-3slice" / name, folder / name)
    flrseg("segment", folder, "-o", tmp_path / "out", "--device", "cpu", "--progress", "none")
    ct = read_ct(folder)
    header = read_seg_header(tmp_path / "out" / "dcmqi_seg.dcm")
    sources = [pydicom.dcmread(folder / name, stop_before_pixels=True) for name in ("01.dcm", "02.dcm", "03.dcm")]
    assert header.instance_uids == {str(s.SOPInstanceUID) for s in sources}
    masks, frames = read_segment_masks(header, ct, str(sources[0].FrameOfReferenceUID))
    label_map = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "out" / "dcmqi_seg.nii.gz")))
    assert frames == 9
    for number, segment in enumerate(SEGMENTS, start=1):
        assert np.array_equal(masks[number], split_label_map(label_map)[segment.key])
    for name in ("dcmqi_seg.dcm", "dcmqi_sr.dcm"):
        assert dciodvfy(tmp_path / "out" / name) == [], name


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
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == [
        "phantom.seg.nrrd", "phantom_report.json", "phantom_seg.nii.gz"]


def test_the_engine_imports_highdicom_only_to_write():
    """The Slicer module's process (pydicom 2.4.4) imports the engine, so highdicom must wait until a write."""
    code = ("import sys; import FLRSegmentationLib.hospital.dicom_outputs, FLRSegmentationLib.cli.main; "
            "print('highdicom' in sys.modules, 'dicomweb_client' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["False", "False"]
