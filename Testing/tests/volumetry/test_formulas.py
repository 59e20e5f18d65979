"""BSA, estimated TLV, sFLR, thresholds, verdicts and PVE growth against worked examples computed by hand.

Each example is worked from the published formula in its comment. Tolerances: 1e-9 where the arithmetic is exact
in decimal (only float rounding remains), 1e-5 m^2 / 0.01 mL where the hand value is itself rounded (powers and
roots, shown to 5-6 digits), and equality for values the code reports rounded to 3 decimals when that rounding is
the point of the test (a verdict is taken on the reported value).
"""

import math

import pytest

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.volumetry.body_size import BodySize, body_size_from, estimated_tlv_ml
from FLRSegmentationLib.volumetry.flr_assessment import AssessmentOptions, assess
from FLRSegmentationLib.volumetry.flr_thresholds import NO_FLR, THRESHOLDS, threshold_for, verdict
from FLRSegmentationLib.volumetry.pve_follow_up import pve_growth


def volumes(flr_ml, liver_ml=1500.0, crlm_ml=0.0):
    functional = liver_ml - crlm_ml
    return {"liver_ml": liver_ml, "crlm_ml": crlm_ml, "functional_liver_ml": functional, "flr_ml": flr_ml,
            "flr_percent": round(100 * flr_ml / functional, 3) if functional > 0 else None, "crlm_count": 0}


def test_mosteller_worked_example():
    # Mosteller, BSA = sqrt(height_cm x weight_kg / 3600):
    # 160 cm, 90 kg: 160 x 90 = 14400; 14400 / 3600 = 4; sqrt(4) = 2 m^2 exactly (tolerance 1e-12)
    assert BodySize(160, 90).bsa_m2 == pytest.approx(2.0, abs=1e-12)
    # 180 cm, 81 kg: 180 x 81 = 14580; 14580 / 3600 = 4.05; sqrt(4.05) = 2.012461 (2.012461^2 = 4.050000)
    assert BodySize(180, 81).bsa_m2 == pytest.approx(2.01246, abs=1e-5)


def test_dubois_worked_example():
    # DuBois, BSA = 0.007184 x height_cm^0.725 x weight_kg^0.425, 180 cm, 80 kg:
    #   ln 180 = 5.192957, x 0.725 = 3.764894, e^3.764894 = 43.15912
    #   ln 80  = 4.382027, x 0.425 = 1.862361, e^1.862361 = 6.438923
    #   43.15912 x 6.438923 = 277.8982; x 0.007184 = 1.996421 m^2 (hand value to 6 digits, tolerance 1e-5)
    assert BodySize(180, 80, "dubois").bsa_m2 == pytest.approx(1.99642, abs=1e-5)


def test_estimated_tlv_worked_example():
    # Vauthey, estimated TLV (mL) = -794.41 + 1267.28 x BSA (m^2):
    # BSA 2.0: 1267.28 x 2 = 2534.56; 2534.56 - 794.41 = 1740.15 mL (exact in decimal, tolerance 1e-9)
    assert estimated_tlv_ml(2.0) == pytest.approx(1740.15, abs=1e-9)
    # DuBois 180 cm / 80 kg, BSA 1.996421: 1267.28 x 1.996421 = 2530.024; 2530.024 - 794.41 = 1735.614 mL
    # (BSA carried to 6 digits: 1267.28 x 5e-7 = 0.0006 mL of rounding, tolerance 0.01 mL)
    assert BodySize(180, 80, "dubois").estimated_tlv_ml == pytest.approx(1735.614, abs=0.01)
    # The formula reaches 0 mL at BSA = 794.41 / 1267.28 = 0.62686 m^2 (body_size.py keeps every BSA above it)
    assert estimated_tlv_ml(794.41 / 1267.28) == pytest.approx(0.0, abs=1e-9)


def test_sflr_worked_example_lands_exactly_on_the_chemotherapy_threshold():
    # 160 cm, 90 kg: BSA 2.0, estimated TLV 1740.15 mL; FLR 522.045 mL = 0.30 x 1740.15, so sFLR = 30 %.
    # In floating point 100 x 522.045 / 1740.15 = 29.999999999999993; the reported value (3 decimals) is 30.0 and
    # the verdict is taken on it: exactly on the threshold is insufficient.
    result = assess(volumes(522.045), AssessmentOptions(160, 90, condition="chemotherapy"))
    assert result["bsa_m2"] == pytest.approx(2.0, abs=5e-5)  # reported to 4 decimals
    assert result["estimated_tlv_ml"] == pytest.approx(1740.15, abs=5e-4)  # reported to 3 decimals
    assert result["sflr_percent"] == 30.0 and result["sflr_verdict"] == "insufficient"  # rounding is the point
    # FLR % = 522.045 / 1500 x 100 = 34.803 %: above 30 %, sufficient on FLR % (supporting only: Shindoh used sFLR)
    assert result["flr_percent"] == pytest.approx(34.803, abs=5e-4) and result["verdict"] == "sufficient"
    assert (result["headline"]["measure"], result["headline"]["verdict"]) == ("sflr_percent", "insufficient")
    assert result["threshold_percent"] == 30.0 and "Shindoh" in result["references"]["threshold"]
    # the estimated TLV is credited to Vauthey's Western-adult formula paper, not to Surgery 2000 (Urata's formula)
    assert "Liver Transpl 2002" in result["references"]["estimated_tlv"]
    assert "PMC6422720" in result["references"]["thresholds_review"]


def test_sflr_worked_example_at_the_normal_liver_thresholds():
    # 180 cm, 81 kg (Mosteller): BSA = sqrt(4.05) = 2.012461 m^2; TLV = -794.41 + 1267.28 x 2.012461
    # = -794.41 + 2550.352 = 1755.942 mL. FLR 400 mL: sFLR = 400 / 1755.942 x 100 = 22.780 %
    # -> Kishi 20 %: 22.780 > 20, sufficient; Vauthey/Shoup 25 %: 22.780 <= 25, insufficient
    for normal, expected in ((20, "sufficient"), (25, "insufficient")):
        result = assess(volumes(400.0), AssessmentOptions(180, 81, normal_threshold=normal))
        assert result["estimated_tlv_ml"] == pytest.approx(1755.942, abs=1e-3)
        assert result["sflr_percent"] == pytest.approx(22.780, abs=1e-3)
        assert result["sflr_verdict"] == expected


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
    assert verdict(t + 0.001, threshold) == "sufficient"  # no borderline band: no source gives one
    assert verdict(t + 5, threshold) == "sufficient"
    assert verdict(None, threshold) == NO_FLR


@pytest.mark.parametrize("condition, threshold", [("nothing", 20), ("normal", 22)])
def test_unknown_condition_or_threshold_is_refused(condition, threshold):
    with pytest.raises(InputError):
        threshold_for(condition, threshold)


def test_kinetic_growth_rate_worked_examples():
    # Shindoh 2013: DH = sFLR after - sFLR before (points); KGR = DH / weeks since PVE; warn when KGR < 2 %/week.
    # sFLR 18 % -> 27 % in 3 weeks: DH = 27 - 18 = 9 points; KGR = 9 / 3 = 3 %/week, no warning
    growth = pve_growth(18.0, 27.0, 3)
    assert growth["degree_of_hypertrophy_points"] == pytest.approx(9.0, abs=1e-9)
    assert growth["kinetic_growth_rate_percent_per_week"] == pytest.approx(3.0, abs=1e-9)
    assert growth["kgr_warning"] is None
    # 18 % -> 24 % in 3 weeks: DH 6, KGR 6 / 3 = 2.0 %/week exactly: the source's groups are "< 2" and ">= 2"
    assert pve_growth(18.0, 24.0, 3)["kgr_warning"] is None
    # 18 % -> 23 % in 3 weeks: DH 5, KGR 5 / 3 = 1.6667 %/week, reported to 3 decimals as 1.667: warning
    slow = pve_growth(18.0, 23.0, 3)
    assert slow["kinetic_growth_rate_percent_per_week"] == pytest.approx(1.667, abs=5e-4)
    assert "below 2 %/week" in slow["kgr_warning"] and "PMC3632508" in slow["kgr_warning"]
    # Shindoh's DH cut-off (7.5 points) reached in 4 weeks: 20 % -> 27.5 %, KGR = 7.5 / 4 = 1.875 %/week: warning,
    # as the KGR cut-off, not the DH one, is the one applied
    late = pve_growth(20.0, 27.5, 4)
    assert late["degree_of_hypertrophy_points"] == pytest.approx(7.5, abs=1e-9)
    assert late["kinetic_growth_rate_percent_per_week"] == pytest.approx(1.875, abs=1e-9)
    assert late["kgr_warning"] is not None


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
    # 100 cm, 20 kg: Mosteller sqrt(2000 / 3600) = sqrt(0.5556) = 0.7454 m^2 -> TLV -794.41 + 944.57 = 150.16 mL;
    # DuBois 0.007184 x 100^0.725 x 20^0.425 = 0.007184 x 28.184 x 3.5722 = 0.7233 m^2
    #   -> TLV -794.41 + 916.59 = 122.18 mL
    smallest = BodySize(100, 20, formula)
    assert smallest.estimated_tlv_ml == pytest.approx({"mosteller": 150.16, "dubois": 122.18}[formula], abs=0.01)
    assert smallest.estimated_tlv_ml > 100
    assert BodySize(250, 350, formula).estimated_tlv_ml > 0


def test_empty_flr_or_liver_is_a_state_not_a_division_by_zero():
    no_flr = assess(volumes(0.0), AssessmentOptions(160, 90))
    assert no_flr["verdict"] == NO_FLR and no_flr["sflr_verdict"] == NO_FLR and "FLR segment" in no_flr["no_flr_reason"]
    no_liver = assess(volumes(0.0, liver_ml=0.0), AssessmentOptions())
    assert no_liver["flr_percent"] is None and no_liver["verdict"] == NO_FLR
    assert "Liver segment is empty" in no_liver["no_flr_reason"] and "sflr_percent" not in no_liver
