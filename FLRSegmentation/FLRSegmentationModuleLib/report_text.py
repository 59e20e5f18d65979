"""The engine's report as one line for the module's status label."""

from __future__ import annotations

import json
from pathlib import Path


def load_report(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def report_summary(report: dict) -> str:
    """The headline verdict first (what the surgeon decides on; FLR % from an older report without one), then the
    volumes and the model; demo models say so."""
    percent = report.get("flr_percent")
    flr = "FLR: no liver found" if percent is None else f"FLR {percent:.1f} % of the functional liver"
    if isinstance(report.get("headline"), dict) and report["headline"].get("sentence"):
        flr = report["headline"]["sentence"].rstrip(".")
    volumes = ", ".join(f"{title} {report[key]:.0f} mL" for key, title in (
        ("liver_ml", "liver"), ("crlm_ml", "CRLM"), ("flr_ml", "FLR")) if report.get(key) is not None)
    model = report.get("model", {})
    codes = [w["code"] for w in report.get("warnings", []) if isinstance(w, dict) and w.get("code") != "demo_model"]
    warned = f"; warnings: {', '.join(codes)}" if codes else ""
    return f"{flr} ({volumes}); model {model.get('label', model.get('id', '?'))}{warned}"
