"""No verdict from a measurement that can't carry one: what the checks do to an assessment's verdicts.

Order of precedence (docs/CLINICAL.md section 9):
- `incomplete`: the scan cut the liver (`complete` is False); the volumes are too small, the ratio means nothing.
- `uncertain`: the FLR % range implied by the networks' uncertain voxels (uncertainty.py) gets different verdicts
  at its two ends, i.e. it straddles a band boundary; the verdict names the range.
The plausibility warnings (plausibility.py) are added; they keep the verdict.
"""

from __future__ import annotations

from .flr_thresholds import NO_FLR, verdict
from .plausibility import plausibility_warnings
from .result_warnings import VERDICT_UNCERTAIN, warning

INCOMPLETE = "incomplete"
UNCERTAIN = "uncertain"


def checked_verdicts(result: dict, threshold) -> dict:
    """The assessment with the withheld verdicts replaced and every warning listed under `warnings`."""
    result = dict(result)
    warnings = list(result.get("warnings", [])) + plausibility_warnings(result)
    for key, range_key, name in (("verdict", "flr_percent_range", "FLR %"),
                                 ("sflr_verdict", "sflr_percent_range", "sFLR")):
        if result.get(key) in (None, NO_FLR):
            continue
        if result.get("complete") is False:
            result[key] = INCOMPLETE
            continue
        span = result.get(range_key)
        if span is not None and verdict(span[0], threshold) != verdict(span[1], threshold):
            result[key] = UNCERTAIN
            warnings.append(warning(VERDICT_UNCERTAIN, f"{name} lies between {span[0]:.1f} and {span[1]:.1f} % "
                                    f"counting the networks' uncertain voxels out or in, a range that straddles "
                                    f"a verdict boundary ({verdict(span[0], threshold)} to "
                                    f"{verdict(span[1], threshold)}); check the FLR boundary"))
    result["warnings"] = warnings
    return result
