"""Minimum remnant by liver condition, with its source, and the verdict of a remnant against it.

The values are Table 1 of the review by Kawaguchi, Lillemoe and Vauthey (J Surg Oncol 2019, PMC6422720), as
docs/CLINICAL.md section 4 lists them; they are data so that the report, the command and the Slicer table show the
same number with the same reference. Each reference says which liver volume its percentage was measured against
(Table 1's last column): the estimated TLV of a BSA formula (compare with sFLR) or the CT non-tumour liver
(compare with FLR %). Citation details that could not be checked against the paper say so in the string.

Verdict boundaries (docs/CLINICAL.md section 5; a value exactly on the threshold gets the cautious verdict;
Vauthey 2000 reports more complications at an FLR "<= 25 %", and the other sources' side of the boundary was not
checked). No source gives a band of "borderline" values, so there is none: how close a value is shows in the
headline (volumetry/headline.py) and in the FLR % range where one is reported.
    insufficient   value <= threshold
    sufficient     value > threshold
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError

REVIEW_REFERENCE = ("Minimum FLR: Kawaguchi Y, Lillemoe HA, Vauthey JN, J Surg Oncol 2019;119:594-603, "
                    "doi:10.1002/jso.25430, PMC6422720, Table 1")
SUFFICIENT = "sufficient"
INSUFFICIENT = "insufficient"
NO_FLR = "no FLR segment"


SFLR = "sflr_percent"  # measured against a BSA-formula TLV
FLR_PERCENT = "flr_percent"  # measured against the CT non-tumour liver
MEASURE_TITLES = {SFLR: "sFLR", FLR_PERCENT: "FLR %"}


@dataclass(frozen=True)
class Threshold:
    condition: str
    percent: float
    description: str
    reference: str
    measures: tuple[str, ...]  # the measures its sources used (Table 1's last column), the one to judge first

    @property
    def measure(self) -> str:
        return self.measures[0]


THRESHOLDS = (
    Threshold("normal", 20.0, "normal liver",
              "Kishi Y et al., Ann Surg 2009;250:540 (20 % of the BSA-formula TLV, per PMC6422720 Table 1; "
              "volume and page not checked against the paper)", (SFLR,)),
    Threshold("normal", 25.0, "normal liver",
              "Vauthey JN et al., Surgery 2000;127:512-519 (more major complications at <= 25 % of the TLV by "
              "Urata's BSA formula, per PMC6422720 Table 1); Shoup M et al., J Gastrointest Surg 2003;7:325-330 "
              "(25 % of the CT non-tumour liver)", (SFLR, FLR_PERCENT)),
    Threshold("chemotherapy", 30.0, "after extensive chemotherapy (> 3 months)",
              "Shindoh J et al., Ann Surg Oncol 2013;20:2493 (30 % of the BSA-formula TLV, per PMC6422720 "
              "Table 1; volume and page not checked against the paper)", (SFLR,)),
    Threshold("cirrhosis", 40.0, "cirrhosis or fibrosis (40-50 %)",
              "Azoulay D et al., Ann Surg 2000;232:665 (year, volume and page not checked; abstract PMC1421241: "
              "PVE when the CT remnant is < 40 % in cirrhosis or fibrosis); Kubota K et al., Hepatology "
              "1997;26:1176-1181 (40 % or 50 % of the CT non-tumour liver, by ICG retention)", (FLR_PERCENT,)),
)
CONDITIONS = tuple(dict.fromkeys(t.condition for t in THRESHOLDS))
NORMAL_THRESHOLDS = tuple(t.percent for t in THRESHOLDS if t.condition == "normal")


def threshold_for(condition: str, normal_threshold: float = NORMAL_THRESHOLDS[0]) -> Threshold:
    """The threshold of a condition; a normal liver has two published values, normal_threshold picks one."""
    if condition not in CONDITIONS:
        raise InputError(f"liver condition '{condition}' is unknown; use one of {', '.join(CONDITIONS)}")
    if normal_threshold not in NORMAL_THRESHOLDS:
        raise InputError(f"normal-liver threshold {normal_threshold:g} % is not one of the published "
                         f"{' or '.join(f'{t:g} %' for t in NORMAL_THRESHOLDS)}")
    matches = [t for t in THRESHOLDS if t.condition == condition]
    return next((t for t in matches if t.percent == normal_threshold), matches[0])


def threshold_of(condition: str, percent: float) -> Threshold:
    """The threshold a result names (its condition and percent), e.g. to judge it again."""
    return next(t for t in THRESHOLDS if t.condition == condition and t.percent == percent)


def verdict(percent: float | None, threshold: Threshold) -> str:
    """sufficient or insufficient (boundaries in the module docstring); NO_FLR without a value."""
    if percent is None:
        return NO_FLR
    return INSUFFICIENT if percent <= threshold.percent else SUFFICIENT


def threshold_text(threshold: Threshold) -> str:
    """Every band spelled out, with the measure the source used: what the reader compares the value with."""
    measured = " or ".join(MEASURE_TITLES[m] for m in threshold.measures)
    return (f"<= {threshold.percent:g} % insufficient; > {threshold.percent:g} % sufficient "
            f"({threshold.description}; the source measured {measured})")
