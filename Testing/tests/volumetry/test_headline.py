"""The headline verdict: on the measure the threshold's source used, the other measure supporting, for a remnant
whose FLR % and sFLR fall on opposite sides of every threshold; the fallback without body size; the exports."""

import csv
import json

import numpy as np
import pytest
import SimpleITK as sitk

from FLRSegmentationLib.cli.main import main
from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd
from FLRSegmentationLib.volumetry.flr_assessment import AssessmentOptions, assess
from FLRSegmentationLib.volumetry.flr_thresholds import THRESHOLDS
from FLRSegmentationLib.volumetry.headline import headline_of, short_citation
from FLRSegmentationLib.volumetry.rows import volumetry_rows


def volumes(flr_ml: float, functional_ml: float) -> dict:
    return {"liver_ml": functional_ml, "crlm_ml": 0.0, "crlm_count": 0, "functional_liver_ml": functional_ml,
            "flr_ml": flr_ml, "flr_percent": round(100 * flr_ml / functional_ml, 3)}


# 160 cm, 90 kg: BSA 2.0 m^2, estimated TLV 1740.15 mL. A small liver (600 mL) with an FLR of 270 mL: FLR % 45.0
# (above every threshold), sFLR 270 / 1740.15 = 15.516 % (below every threshold): the two disagree everywhere.
DISAGREEING = volumes(270.0, 600.0)
BODY = dict(height_cm=160, weight_kg=90)
EXPECTED = {  # (condition, threshold) -> the measure its source used, so the verdict on it
    ("normal", 20.0): ("sflr_percent", "insufficient", 15.516),  # Kishi: BSA-formula TLV
    ("normal", 25.0): ("sflr_percent", "insufficient", 15.516),  # Vauthey 2000 (Urata's BSA formula) first
    ("chemotherapy", 30.0): ("sflr_percent", "insufficient", 15.516),  # Shindoh: BSA-formula TLV
    ("cirrhosis", 40.0): ("flr_percent", "sufficient", 45.0),  # Azoulay, Kubota: CT non-tumour liver
}


@pytest.mark.parametrize("threshold", THRESHOLDS, ids=lambda t: f"{t.condition}-{t.percent:g}")
def test_headline_uses_the_sources_measure_when_flr_percent_and_sflr_disagree(threshold):
    options = AssessmentOptions(**BODY, condition=threshold.condition,
                                normal_threshold=threshold.percent if threshold.condition == "normal" else 20.0)
    result = assess(DISAGREEING, options)
    assert (result["verdict"], result["sflr_verdict"]) == ("sufficient", "insufficient")  # they disagree
    head = result["headline"]
    measure, verdict, value = EXPECTED[(threshold.condition, threshold.percent)]
    assert (head["measure"], head["verdict"], head["value"]) == (measure, verdict, value)
    assert head["threshold_percent"] == threshold.percent and head["reference"] == threshold.reference
    assert head["substitute"] is False and head["supporting"]["measure"] != measure
    assert head["sentence"].startswith(verdict.capitalize())
    # rows: only the governing measure carries a verdict; the other says it is supporting
    rows = {r.quantity: r for r in volumetry_rows(result)}
    governing = "sFLR (FLR / estimated TLV)" if measure == "sflr_percent" else "FLR % (FLR / functional liver)"
    other = next(q for q in ("sFLR (FLR / estimated TLV)", "FLR % (FLR / functional liver)") if q != governing)
    assert rows[governing].verdict == verdict and f"<= {threshold.percent:g} % insufficient" in rows[governing].threshold
    assert rows[other].verdict.startswith("supporting") and rows[other].threshold == ""


def test_missing_body_size_falls_back_to_flr_percent_marked_as_substitute():
    result = assess(DISAGREEING, AssessmentOptions(condition="chemotherapy"))
    head = result["headline"]
    assert (head["measure"], head["value"], head["verdict"], head["substitute"]) == \
        ("flr_percent", 45.0, "sufficient", True)
    assert "sFLR needs height and weight" in head["sentence"]
    rows = {r.quantity: r for r in volumetry_rows(result)}
    assert rows["FLR % (FLR / functional liver)"].verdict == "sufficient (in place of sFLR)"
    assert rows["sFLR (FLR / estimated TLV)"].value == "n/a"
    assert "give height and weight" in rows["sFLR (FLR / estimated TLV)"].verdict


def test_a_threshold_one_of_whose_sources_measured_flr_percent_is_no_substitute():
    # 25 %: Vauthey 2000 measured against a BSA-formula TLV, Shoup 2003 against the CT non-tumour liver
    head = assess(DISAGREEING, AssessmentOptions(normal_threshold=25.0))["headline"]
    assert (head["measure"], head["substitute"]) == ("flr_percent", False)
    assert "Vauthey 2000; Shoup 2003" in head["sentence"]


def test_incomplete_field_of_view_and_an_flr_range_reach_the_headline():
    result = assess(DISAGREEING, AssessmentOptions(**BODY, condition="cirrhosis"))
    ranged = headline_of({**result, "flr_percent_range": [43.2, 46.9]})
    assert "FLR % range 43.2-46.9 %" in ranged["sentence"]
    assert headline_of({**result, "complete": False})["verdict"] == "incomplete"
    assert headline_of({**result, "complete": True})["verdict"] == "sufficient"


def test_no_flr_segment_has_no_verdict():
    result = assess(volumes(0.0, 600.0), AssessmentOptions(**BODY))
    assert result["headline"]["verdict"] == "no FLR segment"
    assert result["headline"]["sentence"].startswith("No verdict: the FLR segment is empty")


def test_short_citations():
    assert short_citation(THRESHOLDS[0].reference) == "Kishi 2009"
    assert short_citation(THRESHOLDS[-1].reference) == "Azoulay 2000; Kubota 1997"


def test_cli_prints_json_csv_and_html_carry_the_one_headline(tmp_path, capsys):
    liver = np.zeros((12, 12, 12), bool)
    liver[1:11, 1:11, 1:11] = True  # 1000 voxels of 1 mm^3: 1.0 mL
    flr = np.zeros_like(liver)
    flr[1:11, 1:11, 1:4] = True  # 0.3 mL: FLR % 30, sFLR 0.3 / 1740.15 = 0.017 %
    seg = tmp_path / "case.seg.nrrd"
    write_seg_nrrd(seg, {"liver": liver, "crlm": np.zeros_like(liver), "flr": flr},
                   sitk.Image([12, 12, 12], sitk.sitkUInt8))
    out = {kind: tmp_path / f"out.{kind}" for kind in ("json", "csv", "html")}
    assert main(["volumetry", str(seg), "--height-cm", "160", "--weight-kg", "90", "--json", str(out["json"]),
                 "--csv", str(out["csv"]), "--html", str(out["html"])]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].startswith("Insufficient: sFLR 0.02 % is at or below the minimum of 20 %")
    head = json.loads(out["json"].read_text())["headline"]
    assert {k: head[k] for k in ("verdict", "measure", "value", "threshold_percent", "substitute")} == \
        {"verdict": "insufficient", "measure": "sflr_percent", "value": 0.017, "threshold_percent": 20.0,
         "substitute": False}
    assert head["reference"].startswith("Kishi")
    rows = {row[0]: row for row in csv.reader(out["csv"].open())}
    assert rows["sFLR (FLR / estimated TLV)"][4] == "insufficient"
    assert rows["FLR % (FLR / functional liver)"][4] == "supporting (sFLR governs)"
    page = out["html"].read_text()
    assert "Insufficient: sFLR 0.02 %" in page and "borderline" not in page
