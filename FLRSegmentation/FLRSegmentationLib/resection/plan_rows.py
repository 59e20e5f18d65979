"""A plan's results as rows: the planned FLR's volumetry rows (the same as `flrseg volumetry`), the resected and
remnant volumes, and one row per tumour, so the printed table and the Slicer tables show the same numbers."""

from __future__ import annotations

from ..volumetry.rows import Row, volumetry_rows
from .planner import MARGIN_REFERENCE
from .tumours import R0_MARGIN_MM, REMNANT, TARGET_MARGIN_MM

TUMOUR_COLUMNS = ("Tumour", "Volume (mL)", "Side", "Margin (mm)", "Flags")
MARGIN_THRESHOLDS = f">= {R0_MARGIN_MM:g} mm R0; >= {TARGET_MARGIN_MM:g} mm traditional target"


def plan_rows(result: dict) -> list[Row]:
    rows = volumetry_rows(result) + [Row("Resected liver (CRLM included)", f"{result['resected_ml']:.1f}", "mL"),
                                     Row("Remnant liver (CRLM included)", f"{result['remnant_ml']:.1f}", "mL")]
    for resection in result["resections"]:
        rows.append(Row(f"Resection '{resection['name']}' ({resection['type']}) removes",
                        f"{resection['removes_ml']:.1f}", "mL"))
    for tumour in result["tumours"]:
        verdict = "; ".join(tumour["flags"]) or "clear"
        value = "in the remnant" if tumour["side"] == REMNANT else f"{tumour['margin_mm']:.1f}"
        rows.append(Row(f"Tumour {tumour['id']} ({tumour['volume_ml']:.1f} mL, {tumour['side']}) margin", value,
                        "" if tumour["side"] == REMNANT else "mm", MARGIN_THRESHOLDS, verdict, MARGIN_REFERENCE))
    return rows


def tumour_cells(tumour: dict) -> tuple[str, str, str, str, str]:
    """One tumour in TUMOUR_COLUMNS order."""
    return (str(tumour["id"]), f"{tumour['volume_ml']:.2f}", tumour["side"], f"{tumour['margin_mm']:.1f}",
            "; ".join(tumour["flags"]))
