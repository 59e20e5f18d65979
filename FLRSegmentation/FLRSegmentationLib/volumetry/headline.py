"""The one verdict a report leads with: on the measure the threshold's source used, the other measure supporting.

A threshold from a source that measured the remnant against a BSA-formula TLV is judged on sFLR; one measured
against the CT non-tumour liver on FLR % (flr_thresholds.Threshold.measures). Two verdicts side by side, FLR %
"sufficient" next to sFLR "insufficient", leave the reader to guess which governs; the headline says which. Without
height and weight an sFLR-based threshold falls back to FLR %, marked as a substitute, unless one of its sources
measured FLR % itself. A result whose field of view is incomplete (`complete` false) gets the verdict "incomplete".
"""

from __future__ import annotations

import re

from .flr_thresholds import FLR_PERCENT, MEASURE_TITLES, NO_FLR, SFLR, threshold_of, threshold_text

INCOMPLETE = "incomplete"
VERDICT_FIELDS = {FLR_PERCENT: "verdict", SFLR: "sflr_verdict"}
FIGURE_TITLES = {FLR_PERCENT: "FLR", SFLR: "sFLR"}  # in a sentence: "FLR 31.5 %", "sFLR 8.7 %"


def headline_of(result: dict) -> dict:
    """{verdict, measure, value, threshold_percent, substitute, reference, bands, supporting, sentence} of an
    assessment (flr_assessment.assess), recomputed from its fields so later additions (`complete`) count."""
    threshold = threshold_of(result["condition"], result["threshold_percent"])
    measure = threshold.measure
    substitute = False
    if measure == SFLR and result.get("bsa_m2") is None:
        measure = next((m for m in threshold.measures if m != SFLR), FLR_PERCENT)
        substitute = measure not in threshold.measures
    other = SFLR if measure == FLR_PERCENT else FLR_PERCENT
    verdict = result.get(VERDICT_FIELDS[measure]) or NO_FLR
    if result.get("complete") is False:
        verdict = INCOMPLETE
    head = {"verdict": verdict, "measure": measure, "value": result.get(measure),
            "threshold_percent": threshold.percent, "substitute": substitute, "reference": threshold.reference,
            "bands": threshold_text(threshold),
            "supporting": {"measure": other, "value": result.get(other)}}
    return {**head, "sentence": sentence(head, result, threshold.description)}


def sentence(head: dict, result: dict, description: str) -> str:
    """The headline in words: verdict, the figure it rests on, the threshold and its source, the support."""
    title = FIGURE_TITLES[head["measure"]]
    threshold = threshold_of(result["condition"], result["threshold_percent"])
    source = (f"{short_citation(head['reference'])}, which measured "
              f"{' or '.join(MEASURE_TITLES[m] for m in threshold.measures)}")
    if head["verdict"] == NO_FLR:
        return f"No verdict: {result.get('no_flr_reason') or 'no FLR to judge'}."
    if head["verdict"] == INCOMPLETE:
        return (f"Incomplete: the liver is not wholly inside the scan, so {title} {_percent(head['value'])} "
                f"can't be judged against the minimum of {head['threshold_percent']:g} % ({source}).")
    side = {"insufficient": "at or below", "sufficient": "above"}.get(head["verdict"], "judged against")
    text = (f"{head['verdict'].capitalize()}: {title} {_percent(head['value'])} is {side} the minimum of "
            f"{head['threshold_percent']:g} % ({description}; {source})")
    if head["substitute"]:
        text += "; sFLR needs height and weight, which were not given, so FLR % stands in for it"
    span = _range_text(result.get("flr_percent_range"))
    if span:
        text += f"; FLR % range {span}"
    support = head["supporting"]
    if support["value"] is not None:
        text += f". Supporting: {FIGURE_TITLES[support['measure']]} {_percent(support['value'])}"
    return text + "."


def short_citation(reference: str) -> str:
    """'Kishi Y et al., Ann Surg 2009;...' -> 'Kishi 2009'; sources joined by ';' outside brackets -> 'A 2000; B 2003'."""
    unbracketed = re.sub(r"^[^,;:]{1,30}:\s+", "", re.sub(r"\([^)]*\)", "", reference))  # "Minimum FLR: ..."
    parts = re.split(r";\s+(?=[A-Z][a-z]+ [A-Z]+\b)", unbracketed)
    cited = []
    for part in parts:
        author, year = re.match(r"\s*([A-Z][\w-]+)", part), re.search(r"\b(19|20)\d\d\b", part)
        if author:
            cited.append(f"{author.group(1)} {year.group(0)}" if year else author.group(1))
    return "; ".join(cited) or reference


def _percent(value) -> str:
    """Two decimals, as the table's FLR % and sFLR rows show them."""
    return "n/a" if value is None else f"{value:.2f} %"


def percent_range(span) -> tuple[float, float] | None:
    """An FLR % range given as [low, high] or {"low", "high"} (the uncertainty of the measurement), or None."""
    if isinstance(span, dict):
        span = (span.get("low"), span.get("high"))
    if not isinstance(span, (list, tuple)) or len(span) != 2 or None in span:
        return None
    return float(span[0]), float(span[1])


def _range_text(span) -> str | None:
    span = percent_range(span)
    return f"{span[0]:.1f}-{span[1]:.1f} %" if span else None
