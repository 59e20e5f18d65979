"""The results as rows (quantity, value, unit, threshold, verdict, reference): one layout for every display.

The printed table, the CSV and HTML exports and the Slicer table node all show these rows, so the numbers and
the basis given for each can't differ between them.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

from .flr_thresholds import FLR_PERCENT, MEASURE_TITLES, SFLR
from .headline import headline_of
from .pve_follow_up import KGR_WARNING_BELOW, PVE_REFERENCE

COLUMNS = ("Quantity", "Value", "Unit", "Threshold", "Verdict", "Reference")


@dataclass(frozen=True)
class Row:
    quantity: str
    value: str
    unit: str = ""
    threshold: str = ""
    verdict: str = ""
    reference: str = ""

    def cells(self) -> tuple[str, ...]:
        return astuple(self)


def volumetry_rows(result: dict) -> list[Row]:
    """Rows of an assessment (flr_assessment.assess): volumes, FLR %, and sFLR when height and weight were given.

    Only the headline's measure carries the verdict, the bands and the threshold's reference; the other measure's
    row says it is supporting (volumetry/headline.py). An sFLR the source needs but that can't be computed without
    height and weight shows as n/a, saying why.
    """
    head = headline_of(result)
    refs = result["references"]
    rows = [
        Row("Total liver volume (TLV, tumours included)", _number(result["liver_ml"]), "mL"),
        Row("CRLM volume", _number(result["crlm_ml"]), "mL"),
        Row("CRLM count (26-connected)", str(result["crlm_count"])),
        Row("Functional liver volume (TLV - CRLM)", _number(result["functional_liver_ml"]), "mL"),
        Row("FLR volume (CRLM excluded)", _number(result["flr_ml"]), "mL"),
        _judged_row("FLR % (FLR / functional liver)", FLR_PERCENT, result, head),
    ]
    if result.get("bsa_m2") is not None:
        rows += [
            Row(f"Body surface area ({result['bsa_formula']})", _number(result["bsa_m2"], 2), "m^2", "", "",
                refs["bsa"]),
            Row("Estimated TLV (-794.41 + 1267.28 x BSA)", _number(result["estimated_tlv_ml"]), "mL", "", "",
                refs["estimated_tlv"]),
            _judged_row("sFLR (FLR / estimated TLV)", SFLR, result, head),
        ]
    elif head["substitute"]:
        rows.append(Row("sFLR (FLR / estimated TLV)", "n/a", "%", head["bands"],
                        "not computed: give height and weight", head["reference"]))
    if result["no_flr_reason"]:
        rows.append(Row("No FLR segment", result["no_flr_reason"]))
    return rows + check_rows(result)


COMPLETE_TEXT = {True: "yes", False: "no: the scan cut the liver", None: "not checked"}


def check_rows(result: dict) -> list[Row]:
    """Whether the whole liver was scanned, and the FLR % range of the uncertain voxels (verdict_checks.py)."""
    rows = []
    if "complete" in result:
        rows.append(Row("Whole liver in the scan", COMPLETE_TEXT[result["complete"]]))
    for key, title in (("flr_percent_range", "FLR %"), ("sflr_percent_range", "sFLR")):
        span = result.get(key)
        if span is not None:
            rows.append(Row(f"{title} range (uncertain voxels out / in)", f"{span[0]:.2f} - {span[1]:.2f}", "%"))
    return rows


def _judged_row(quantity: str, measure: str, result: dict, head: dict) -> Row:
    value = _number(result.get(measure), 2)
    if measure != head["measure"]:
        return Row(quantity, value, "%", "", f"supporting ({MEASURE_TITLES[head['measure']]} governs)")
    verdict = head["verdict"] + (" (in place of sFLR)" if head["substitute"] else "")
    return Row(quantity, value, "%", head["bands"], verdict, head["reference"])


def warning_rows(result: dict) -> list[Row]:
    """One row per warning, for the CSV export (the code in the Reference column)."""
    return [Row("Warning", w["message"], reference=w["code"]) for w in result.get("warnings") or ()]


def pve_rows(result: dict) -> list[Row]:
    """Rows of a PVE follow-up (pve_follow_up.pve_result): both sFLR values, DH and KGR."""
    warn = f"< {KGR_WARNING_BELOW:g} %/week warns"
    return [
        Row("sFLR before PVE", _number(result["before"]["sflr_percent"], 2), "%"),
        Row("sFLR after PVE", _number(result["after"]["sflr_percent"], 2), "%", result["after"]["threshold_rule"],
            result["after"]["sflr_verdict"], result["after"]["references"]["threshold"]),
        Row("Weeks since PVE", _number(result["weeks_since_pve"]), "weeks"),
        Row("Degree of hypertrophy (sFLR after - before)", _number(result["degree_of_hypertrophy_points"]),
            "percentage points", "", "", PVE_REFERENCE),
        Row("Kinetic growth rate (DH / weeks)", _number(result["kinetic_growth_rate_percent_per_week"]), "%/week",
            warn, "warning" if result["kgr_warning"] else "", PVE_REFERENCE),
    ]


def format_rows(rows: list[Row]) -> str:
    """A plain-text table for the terminal; references are numbered in the last column and listed below."""
    references = list(dict.fromkeys(r.reference for r in rows if r.reference))
    table = [COLUMNS[:5] + ("Ref",)]
    table += [r.cells()[:5] + (f"[{references.index(r.reference) + 1}]" if r.reference else "",) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in table]
    return "\n".join(lines + [f"[{i + 1}] {ref}" for i, ref in enumerate(references)])


def _number(value, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
