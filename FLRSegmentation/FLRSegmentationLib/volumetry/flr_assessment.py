"""Judge measured volumes: FLR % and the standardised FLR (sFLR) against the threshold for the liver's condition.

The assessment adds to the volumes (liver_ml, crlm_ml, functional_liver_ml, flr_ml, flr_percent) the fields every
report carries: condition, threshold and its reference, the verdicts and, when height and weight are given, the
BSA, Vauthey's estimated TLV and sFLR = FLR / estimated TLV x 100, and the headline: the one verdict on the measure
the threshold's source used (volumetry/headline.py). An empty liver or FLR is the state "no FLR
segment", with the reason, instead of a verdict on a ratio that means nothing. A cut liver or an uncertain
FLR % withholds the verdict and every result lists its warnings (verdict_checks.py). Formulas and sources:
docs/CLINICAL.md sections 3-5 and 9.
"""

from __future__ import annotations

from dataclasses import dataclass

from .body_size import ESTIMATED_TLV_REFERENCE, BodySize, body_size_from
from .flr_thresholds import NORMAL_THRESHOLDS, REVIEW_REFERENCE, threshold_for, threshold_text, verdict
from .headline import headline_of
from .verdict_checks import checked_verdicts


@dataclass(frozen=True)
class AssessmentOptions:
    """What the user states about the patient; checked on creation, so a run stops before any work."""

    height_cm: float | None = None
    weight_kg: float | None = None
    bsa_formula: str = "mosteller"
    condition: str = "normal"
    normal_threshold: float = NORMAL_THRESHOLDS[0]

    def __post_init__(self):
        body_size_from(self.height_cm, self.weight_kg, self.bsa_formula)
        threshold_for(self.condition, self.normal_threshold)

    @property
    def body_size(self) -> BodySize | None:
        return body_size_from(self.height_cm, self.weight_kg, self.bsa_formula)

    @property
    def threshold(self):
        return threshold_for(self.condition, self.normal_threshold)


def no_flr_reason(volumes: dict) -> str | None:
    """Why there is no remnant to judge, or None when there is one."""
    if volumes["functional_liver_ml"] <= 0:
        return "the Liver segment is empty (or entirely CRLM)"
    if volumes["flr_ml"] <= 0:
        return "the FLR segment is empty (or lies entirely in CRLM or outside the liver)"
    return None


def assess(volumes: dict, options: AssessmentOptions) -> dict:
    """The volumes with sFLR, threshold, verdicts and references added (see the module docstring)."""
    threshold = options.threshold
    missing = no_flr_reason(volumes)
    result = dict(volumes)
    body = options.body_size
    sflr_percent = None
    if body is not None:
        tlv_ml = body.estimated_tlv_ml
        sflr_percent = round(100.0 * volumes["flr_ml"] / tlv_ml, 3)
        if volumes.get("flr_ml_range") is not None:
            result["sflr_percent_range"] = [round(100.0 * v / tlv_ml, 3) for v in volumes["flr_ml_range"]]
        result.update({"height_cm": body.height_cm, "weight_kg": body.weight_kg, "bsa_formula": body.bsa_formula,
                       "bsa_m2": round(body.bsa_m2, 4), "estimated_tlv_ml": round(tlv_ml, 3),
                       "sflr_percent": sflr_percent})
    result.update({
        "condition": threshold.condition,
        "threshold_percent": threshold.percent,
        "threshold_rule": threshold_text(threshold),
        "verdict": verdict(None if missing else volumes["flr_percent"], threshold),
        "sflr_verdict": None if body is None else verdict(None if missing else sflr_percent, threshold),
        "no_flr_reason": missing,
        "references": {"threshold": threshold.reference, "thresholds_review": REVIEW_REFERENCE,
                       **({"bsa": body.formula.reference, "estimated_tlv": ESTIMATED_TLV_REFERENCE} if body else {})},
    })
    result = checked_verdicts(result, threshold)
    result["headline"] = headline_of(result)
    return result
