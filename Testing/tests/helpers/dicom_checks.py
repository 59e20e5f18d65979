"""Checks shared by the DICOM-object and PACS tests: a SEG's frames against the local label map, an SR's
measurements and references against the report JSON and its SEG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from FLRSegmentationLib.imaging.ct_input import read_ct
from FLRSegmentationLib.imaging.dicom_seg import read_seg_header, read_segment_masks
from FLRSegmentationLib.vocabulary.labels import split_label_map
from FLRSegmentationLib.vocabulary.segments import SEGMENTS

VOLUME = "118565006"  # SNOMED CT "Volume"
MEASUREMENT_GROUP = "125007"  # DCM "Measurement Group"
FINDING, FINDING_CATEGORY = "121071", "276214006"  # DCM "Finding", SCT "Finding category"


def assert_seg_matches_label_map(seg_path: Path, ct_folder: Path, label_map_path: Path, require_content=True):
    """Every segment of the SEG, placed frame by frame on the CT's grid, equals the label map's mask."""
    header = read_seg_header(seg_path)
    ct = read_ct(ct_folder)
    frame_of_reference = str(pydicom.dcmread(next(ct_folder.glob("*.dcm")), stop_before_pixels=True)
                             .FrameOfReferenceUID)
    masks, frames = read_segment_masks(header, ct, frame_of_reference)
    expected = split_label_map(sitk.GetArrayFromImage(sitk.ReadImage(str(label_map_path))))
    assert frames == len(SEGMENTS) * ct.GetSize()[2]
    for number, segment in enumerate(SEGMENTS, start=1):
        if require_content:
            assert expected[segment.key].any(), f"the demo model found no {segment.name}: nothing to compare"
        assert np.array_equal(masks[number], expected[segment.key]), segment.name
    return header


def content_items(dataset):
    """Every SR content item, depth first."""
    for item in dataset.get("ContentSequence", []):
        yield item
        yield from content_items(item)


def assert_sr_matches_report(sr, seg, report: dict) -> None:
    """Measurements equal the report's, each group refers to its SEG segment, the warnings are there as TEXT."""
    groups = [item for item in content_items(sr) if item.ConceptNameCodeSequence[0].CodeValue == MEASUREMENT_GROUP]
    assert len(groups) == len(SEGMENTS)
    found = {}
    for segment_number, group in enumerate(groups, start=1):
        items = list(content_items(group))
        image = next(i for i in items if i.ValueType == "IMAGE")
        assert image.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == seg.SOPInstanceUID
        assert image.ReferencedSOPSequence[0].ReferencedSegmentNumber == segment_number
        assert next(i for i in items if i.ValueType == "UIDREF").UID == \
            seg.SegmentSequence[segment_number - 1].TrackingUID
        for item in items:
            code = item.ConceptNameCodeSequence[0].CodeValue
            if item.ValueType == "NUM":
                found[(segment_number, code)] = float(item.MeasuredValueSequence[0].NumericValue)
            elif item.ValueType == "CODE":
                found[(segment_number, code)] = item.ConceptCodeSequence[0].CodeMeaning
    expected = {(1, VOLUME): report["liver_ml"], (1, "FUNCTIONAL_ML"): report["functional_liver_ml"],
                (2, VOLUME): report["crlm_ml"], (2, "CRLM_COUNT"): report["crlm_count"], (3, VOLUME): report["flr_ml"]}
    for key, code in (("flr_percent", "FLR_PERCENT"), ("sflr_percent", "SFLR_PERCENT")):
        if report.get(key) is not None:
            expected[(3, code)] = report[key]
    for key, value in expected.items():
        assert found.pop(key) == pytest.approx(value, rel=1e-9, abs=1e-6), key
    assert found.pop((3, "FLR_VERDICT")) == report["verdict"]
    if report.get("sflr_verdict"):
        assert found.pop((3, "SFLR_VERDICT")) == report["sflr_verdict"]
    for number, segment in enumerate(SEGMENTS, start=1):
        assert found.pop((number, FINDING)) == segment.type.meaning
        assert found.pop((number, FINDING_CATEGORY)) == segment.category.meaning
    assert not found, f"items the report lacks: {found}"
    texts = [(item.ConceptNameCodeSequence[0].CodeValue, item.TextValue) for item in content_items(sr)
             if item.ValueType == "TEXT"]
    assert [text for code, text in texts if code == "WARNING"] == [w["message"] for w in report["warnings"]]
    assert ("THRESHOLD_RULE", report["threshold_rule"]) in texts
    evidence = {ref.ReferencedSOPInstanceUID for series in sr.CurrentRequestedProcedureEvidenceSequence[0]
                .ReferencedSeriesSequence for ref in series.ReferencedSOPSequence}
    assert seg.SOPInstanceUID in evidence
