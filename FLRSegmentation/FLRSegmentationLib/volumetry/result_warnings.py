"""Warnings a result carries: `{"code": ..., "message": ...}`, with stable codes a program can match on.

Every report, export and display lists them (docs/CLINICAL.md section 9 documents each code and its rule); the
message is the sentence a reader sees.
"""

from __future__ import annotations

# the model and the engine (inference/segment_run.py, inference/engine.py, models/domain.py)
DEMO_MODEL = "demo_model"
NO_LIVER = "no_liver"
LOCATOR_BOX_TOO_TIGHT = "locator_box_too_tight"
OUT_OF_MODEL_DOMAIN = "out_of_model_domain"  # made by models/domain.py, which can't import this layer
# field of view (field_of_view.py)
LIVER_CUT_BY_SCAN = "liver_cut_by_scan"
FIELD_OF_VIEW_UNCHECKED = "field_of_view_unchecked"
# plausibility (plausibility.py)
LIVER_VOLUME_IMPLAUSIBLE = "liver_volume_implausible"
CRLM_OVER_HALF_LIVER = "crlm_over_half_liver"
FLR_LARGER_THAN_FUNCTIONAL_LIVER = "flr_larger_than_functional_liver"
LIVER_COMPONENTS_OF_SIMILAR_SIZE = "liver_components_of_similar_size"
# uncertainty (uncertainty.py)
VERDICT_UNCERTAIN = "verdict_uncertain"


def warning(code: str, message: str) -> dict:
    return {"code": code, "message": message}


def warning_lines(warnings) -> list[str]:
    """One line per warning, as the command line prints them under the table."""
    return [f"warning [{w['code']}]: {w['message']}" for w in warnings or ()]
