"""BSA, estimated TLV, sFLR, thresholds, verdicts and PVE growth against worked examples computed by hand."""

import math

import pytest

from FLRSegmentationLib.body_size import BodySize, body_size_from, estimated_tlv_ml
from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.flr_assessment import AssessmentOptions, assess
from FLRSegmentationLib.flr_thresholds import NO_FLR, THRESHOLDS, threshold_for, verdict
from FLRSegmentationLib.pve_follow_up import pve_growth


def volumes(flr_ml, liver_ml=1500.0, crlm_ml=0.0):
    functional = liver_ml - crlm_ml
    return {"liver_ml": liver_ml, "crlm_ml": crlm_ml, "functional_liver_ml": functional, "flr_ml": flr_ml,
            "flr_percent": round(100 * flr_ml / functional, 3) if functional > 0 else None, "crlm_count": 0}


def test_mosteller_worked_example():
    # 160 cm, 90 kg: 160 x 90 / 3600 = 14400 / 3600 = 4; sqrt(4) = 2.0 m^2
    assert BodySize(160, 90).bsa_m2 == pytest.approx(2.0, abs=1e-12)
    # 180 cm, 81 kg: 180 x 81 / 3600 = 4.05; sqrt(4.05) = 2.01246
    assert BodySize(180, 81).bsa_m2 == pytest.approx(2.01246, abs=1e-5)


def test_dubois_worked_example():
    # 180 cm, 80 kg: ln 180 = 5.192957, x 0.725 = 3.764894, e^ = 43.15912
    #                ln 80 = 4.382027, x 0.425 = 1.862361, e^ = 6.438923
    # BSA = 0.007184 x 43.15912 x 6.438923 = 0.007184 x 277.8979 = 1.99642 m^2
    assert BodySize(180, 80, "dubois").bsa_m2 == pytest.approx(1.99642, abs=1e-5)


def test_estimated_tlv_worked_example():
    # Vauthey: -794.41 + 1267.28 x 2.0 = -794.41 + 2534.56 = 1740.15 mL
    assert estimated_tlv_ml(2.0) == pytest.approx(1740.15, abs=1e-9)
    # DuBois 180 cm / 80 kg: -794.41 + 1267.28 x 1.99642 = -794.41 + 2530.02 = 1735.61 mL
    assert BodySize(180, 80, "dubois").estimated_tlv_ml == pytest.approx(1735.61, abs=0.01)


def test_sflr_worked_example_lands_exactly_on_the_chemotherapy_threshold():
    # 160 cm, 90 kg: BSA 2.0, estimated TLV 1740.15 mL; FLR 522.045 mL = 0.30 x 1740.15, so sFLR = 30 %.
    # In floating point 100 x 522.045 / 1740.15 = 29.999999999999993; the reported value (3 decimals) is 30.0 and
    # the verdict is taken on it: exactly on the threshold is insufficient.
    result = assess(volumes(522.045), AssessmentOptions(160, 90, condition="chemotherapy"))
    assert result["bsa_m2"] == 2.0 and result["estimated_tlv_ml"] == 1740.15
    assert result["sflr_percent"] == 30.0 and result["sflr_verdict"] == "insufficient"
    # FLR % = 522.045 / 1500 x 100 = 34.803 %: borderline for 30 % (30 < 34.803 <= 35)
    assert result["flr_percent"] == 34.803 and result["verdict"] == "borderline"
    assert result["threshold_percent"] == 30.0 and "Shindoh" in result["references"]["threshold"]


def test_thresholds_table_by_condition():
    assert threshold_for("normal").percent == 20 and "Kishi" in threshold_for("normal").reference
    assert threshold_for("normal", 25).percent == 25 and "Shoup" in threshold_for("normal", 25).reference
    assert threshold_for("chemotherapy").percent == 30 and "Shindoh" in threshold_for("chemotherapy").reference
    cirrhosis = threshold_for("cirrhosis")
    assert cirrhosis.percent == 40 and "Azoulay" in cirrhosis.reference and "Kubota" in cirrhosis.reference
    # the normal-liver choice does not move the other conditions' thresholds
    assert threshold_for("cirrhosis", 25).percent == 40


@pytest.mark.parametrize("threshold", THRESHOLDS, ids=lambda t: f"{t.condition}-{t.percent:g}")
def test_verdict_boundaries(threshold):
    t = threshold.percent
    assert verdict(t - 0.001, threshold) == "insufficient"
    assert verdict(t, threshold) == "insufficient"  # on the threshold: the cautious side
    assert verdict(t + 0.001, threshold) == "borderline"
    assert verdict(t + 5, threshold) == "borderline"  # 5 points above: still borderline
    assert verdict(t + 5.001, threshold) == "sufficient"
    assert verdict(None, threshold) == NO_FLR


@pytest.mark.parametrize("condition, threshold", [("nothing", 20), ("normal", 22)])
def test_unknown_condition_or_threshold_is_refused(condition, threshold):
    with pytest.raises(InputError):
        threshold_for(condition, threshold)


def test_kinetic_growth_rate_worked_examples():
    # sFLR 18 % -> 27 % in 3 weeks: DH = 27 - 18 = 9 points; KGR = 9 / 3 = 3 %/week, no warning
    growth = pve_growth(18.0, 27.0, 3)
    assert growth["degree_of_hypertrophy_points"] == 9.0 and growth["kinetic_growth_rate_percent_per_week"] == 3.0
    assert growth["kgr_warning"] is None
    # 18 % -> 24 % in 3 weeks: DH 6, KGR 6 / 3 = 2.0 %/week exactly: the cut-off is "< 2", no warning
    assert pve_growth(18.0, 24.0, 3)["kgr_warning"] is None
    # 18 % -> 23 % in 3 weeks: DH 5, KGR 5 / 3 = 1.667 %/week: warning
    slow = pve_growth(18.0, 23.0, 3)
    assert slow["kinetic_growth_rate_percent_per_week"] == 1.667 and "below 2 %/week" in slow["kgr_warning"]


@pytest.mark.parametrize("weeks", [0, -1, 53, math.nan])
def test_weeks_outside_range_are_refused(weeks):
    with pytest.raises(InputError, match="at most 52"):
        pve_growth(18, 24, weeks)


@pytest.mark.parametrize("height, weight, message", [
    (170, None, "weight is missing"), (None, 70, "height is missing"),
    (0, 70, "100-250 cm"), (-170, 70, "100-250 cm"), (99.9, 70, "100-250 cm"), (250.1, 70, "100-250 cm"),
    (math.nan, 70, "100-250 cm"), (170, 0, "20-350 kg"), (170, -70, "20-350 kg"), (170, 350.5, "20-350 kg"),
])
def test_bad_height_or_weight_names_the_range(height, weight, message):
    with pytest.raises(InputError, match=message):
        AssessmentOptions(height, weight)


@pytest.mark.parametrize("formula", ["mosteller", "dubois"])
def test_range_ends_are_accepted_and_keep_the_estimated_tlv_positive(formula):
    assert body_size_from(None, None) is None
    smallest = BodySize(100, 20, formula)  # Mosteller 0.745 m^2, DuBois 0.723 m^2: both above 0.627 m^2
    assert smallest.estimated_tlv_ml > 100
    assert BodySize(250, 350, formula).estimated_tlv_ml > 0


def test_empty_flr_or_liver_is_a_state_not_a_division_by_zero():
    no_flr = assess(volumes(0.0), AssessmentOptions(160, 90))
    assert no_flr["verdict"] == NO_FLR and no_flr["sflr_verdict"] == NO_FLR and "FLR segment" in no_flr["no_flr_reason"]
    no_liver = assess(volumes(0.0, liver_ml=0.0), AssessmentOptions())
    assert no_liver["flr_percent"] is None and no_liver["verdict"] == NO_FLR
    assert "Liver segment is empty" in no_liver["no_flr_reason"] and "sflr_percent" not in no_liver
