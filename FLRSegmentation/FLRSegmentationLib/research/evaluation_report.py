"""The evaluation's outputs: a per-case CSV and a markdown table in the paper's format (mean ± sd).

The table has one row per metric and one column per prediction set, so a cascade and an E2E run stand side by
side. The sd is the sample standard deviation (n - 1; 0 for one case). Undefined values (NaN, see evaluation.py)
are left out of the mean and sd, and the cell then says how many cases the figure is over: `4.10 ± 1.20 (n=9/10)`.
In the CSV they are written `nan`.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from .evaluation import STRUCTURES, CaseScores

STRUCTURE_TITLES = {"liver": "Liver", "crlm": "CRLM", "flr": "FLR"}
# (CSV column, table row title, decimals)
METRICS = (*((f"{s}_dice", f"{STRUCTURE_TITLES[s]} Dice", 3) for s in STRUCTURES),
           *((f"{s}_hd95_mm", f"{STRUCTURE_TITLES[s]} HD95 (mm)", 2) for s in STRUCTURES),
           ("flr_percent_abs_error", "FLR % absolute error (pp)", 2))
CSV_COLUMNS = ("prediction", "case", *(key for key, _, _ in METRICS), "flr_percent_pred", "flr_percent_ref")


def case_row(prediction: str, scores: CaseScores) -> dict:
    row = {"prediction": prediction, "case": scores.case}
    row.update({f"{s}_dice": scores.dice[s] for s in STRUCTURES})
    row.update({f"{s}_hd95_mm": scores.hd95_mm[s] for s in STRUCTURES})
    row.update(flr_percent_abs_error=scores.flr_percent_error, flr_percent_pred=scores.flr_percent_pred,
               flr_percent_ref=scores.flr_percent_ref)
    return row


def summary_cell(values: list[float], decimals: int) -> str:
    """`mean ± sd` over the defined values, with `(n=k/N)` when some are undefined."""
    defined = [v for v in values if not math.isnan(v)]
    count = "" if len(defined) == len(values) else f" (n={len(defined)}/{len(values)})"
    if not defined:
        return "n/a" + count
    sd = float(np.std(defined, ddof=1)) if len(defined) > 1 else 0.0
    return f"{np.mean(defined):.{decimals}f} ± {sd:.{decimals}f}{count}"


def markdown_table(scores: dict[str, list[CaseScores]]) -> str:
    rows = {name: [case_row(name, s) for s in case_scores] for name, case_scores in scores.items()}
    header = "| metric | " + " | ".join(f"{name} (n={len(r)})" for name, r in rows.items()) + " |"
    lines = [header, "| --- |" + " --- |" * len(rows)]
    for key, title, decimals in METRICS:
        cells = [summary_cell([row[key] for row in r], decimals) for r in rows.values()]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_csv(path: Path, scores: dict[str, list[CaseScores]]) -> None:
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for name, case_scores in scores.items():
            writer.writerows(case_row(name, s) for s in case_scores)
