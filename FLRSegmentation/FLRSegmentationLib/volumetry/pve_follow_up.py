"""Growth of the remnant after portal vein embolisation (PVE), from the sFLR before and after and the interval.

Degree of hypertrophy DH = sFLR_after - sFLR_before (percentage points); kinetic growth rate KGR = DH at the first
volume assessment / weeks since PVE. A KGR below 2 %/week predicted hepatic insufficiency after resection (21.6 % vs
0 %; Shindoh J et al., J Am Coll Surg 2013;216:201-209, PMC3632508; its other cut-offs, sFLR 29.6 % and DH 7.5 %,
are not applied here); exactly 2 %/week does not warn, as the source compares "< 2" with ">= 2 %/week"
(docs/CLINICAL.md section 6).
"""

from __future__ import annotations

import math

from ..errors import InputError

PVE_REFERENCE = ("Shindoh J et al., J Am Coll Surg 2013;216:201-209, doi:10.1016/j.jamcollsurg.2012.10.018, "
                 "PMID 23219349, PMC3632508")
KGR_WARNING_BELOW = 2.0  # %/week
MAX_WEEKS = 52.0  # a later CT is no longer a follow-up of the embolisation


def check_weeks(weeks: float) -> None:
    if not (math.isfinite(weeks) and 0 < weeks <= MAX_WEEKS):
        raise InputError(f"weeks since PVE must be more than 0 and at most {MAX_WEEKS:g}, not {weeks:g}")


def pve_growth(sflr_before: float, sflr_after: float, weeks: float) -> dict:
    """DH (percentage points), KGR (%/week) and the warning when KGR < 2 %/week; sFLR values in %."""
    check_weeks(weeks)
    dh = round(sflr_after - sflr_before, 3)
    kgr = round(dh / weeks, 3)
    warning = (f"kinetic growth rate {kgr:g} %/week is below {KGR_WARNING_BELOW:g} %/week: higher risk of "
               f"hepatic insufficiency ({PVE_REFERENCE})") if kgr < KGR_WARNING_BELOW else None
    return {"weeks_since_pve": weeks, "degree_of_hypertrophy_points": dh, "kinetic_growth_rate_percent_per_week": kgr,
            "kgr_warning": warning, "pve_reference": PVE_REFERENCE}


def pve_result(before: dict, after: dict, weeks: float) -> dict:
    """Both assessments and the growth between them; a study without an FLR has no growth to report."""
    for name, study in (("before", before), ("after", after)):
        if study["no_flr_reason"]:
            raise InputError(f"the segmentation {name} PVE has no FLR to compare: {study['no_flr_reason']}")
    return {"before": before, "after": after, **pve_growth(before["sflr_percent"], after["sflr_percent"], weeks)}
