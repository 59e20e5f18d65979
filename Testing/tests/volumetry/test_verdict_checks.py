"""Precedence of the withheld verdicts: incomplete over uncertain; a range within one band keeps the verdict."""

from FLRSegmentationLib.volumetry.flr_assessment import AssessmentOptions, assess
from FLRSegmentationLib.volumetry.uncertainty import uncertainty_fields

import numpy as np


def volumes(flr_percent, span, complete=True):
    functional = 1500.0
    flr = functional * flr_percent / 100
    return {"liver_ml": functional, "crlm_ml": 0.0, "functional_liver_ml": functional, "flr_ml": flr,
            "flr_percent": flr_percent, "crlm_count": 0, "complete": complete, "warnings": [],
            "flr_ml_range": [functional * s / 100 for s in span], "flr_percent_range": list(span)}


def test_range_straddling_the_threshold_gives_uncertain_with_the_range():
    result = assess(volumes(21.0, (18.5, 23.0)), AssessmentOptions(175, 80))
    assert result["verdict"] == "uncertain"
    message = next(w["message"] for w in result["warnings"] if w["code"] == "verdict_uncertain")
    assert "18.5 and 23.0" in message and "insufficient to sufficient" in message
    assert result["sflr_percent_range"][0] < result["sflr_percent"] < result["sflr_percent_range"][1]


def test_range_inside_one_band_keeps_the_verdict_and_a_cut_liver_is_incomplete_first():
    assert assess(volumes(40.0, (38.0, 42.0)), AssessmentOptions())["verdict"] == "sufficient"
    assert assess(volumes(21.0, (18.5, 23.0), complete=False), AssessmentOptions())["verdict"] == "incomplete"


def test_range_counts_uncertain_voxels_out_and_in():
    liver = np.zeros((4, 10, 10), bool)
    liver[:, :, :] = True
    flr = np.zeros_like(liver)
    flr[:, :, :5] = True  # 200 of 400 voxels
    none = np.zeros_like(liver)
    unsure = np.zeros_like(liver)
    unsure[:, :, 4:6] = True  # 40 in the FLR, 40 outside it
    fields = uncertainty_fields({"liver": liver, "crlm": none, "flr": flr},
                                {"liver": none, "crlm": none, "flr": unsure}, (10.0, 10.0, 10.0))
    assert fields["flr_percent_range"] == [40.0, 60.0] and fields["uncertain_ml"]["flr"] == 80.0
