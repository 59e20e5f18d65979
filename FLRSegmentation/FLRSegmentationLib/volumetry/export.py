"""Write the results as JSON (all fields), CSV (the rows) and a one-page, self-contained HTML report.

The HTML report (laid out by html_report.py) carries what a reader needs to trust the numbers: the headline verdict,
each value with its threshold and reference, the model that made the segmentation, marked "NOT FOR CLINICAL USE"
when it is a demo model, and the pictures embedded in the file, so the report is a single file that can be mailed
or archived.
"""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path

from ..errors import InputError
from .html_report import Page, render
from .report_chart import chart_png
from .rows import COLUMNS, Row

IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
DEMO_MARK = "Demo model trained on synthetic phantoms: NOT FOR CLINICAL USE"


def write_json(path, result: dict) -> None:
    Path(path).write_text(json.dumps(result, indent=2) + "\n")


def write_csv(path, rows: list[Row]) -> None:
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        writer.writerows(row.cells() for row in rows)


def write_html(path, title: str, rows: list[Row], model: dict | None = None, screenshot=None,
               notes: list[str] = (), headline: dict | None = None, result: dict | None = None,
               preview=None, case_lines: list[str] = (), preview_note: str = "") -> None:
    """One page (volumetry/html_report.py): demo mark, case, headline, warnings (notes and the result's), rows,
    pictures (the preview PNG, the screenshot, the chart of the result), model, references."""
    images = []
    if preview:
        images.append(("Slices through the liver as the model segmented it (the segment command's preview)"
                       + preview_note, embedded_image(Path(preview))))
    if screenshot:
        images.append(("Screenshot", embedded_image(Path(screenshot))))
    chart = chart_png(result) if result and "threshold_percent" in result else None
    if chart:
        images.append(("FLR % and sFLR against the minimum", _data_uri(chart, "image/png")))
    warnings = [n for n in notes if n] + [_warning_text(w) for w in (result or {}).get("warnings", [])]
    page = Page(title, rows, headline, list(case_lines), warnings, _model_text(model),
                DEMO_MARK if model and model.get("demo") else None, images)
    Path(path).write_text(render(page))


def _warning_text(warning) -> str:
    """A warning as the assessment gives it: a string or {code, message}."""
    return warning.get("message", str(warning)) if isinstance(warning, dict) else str(warning)


def _model_text(model: dict | None) -> str:
    if not model:
        return "not recorded (the segmentation was measured as given)"
    return model.get("label") or model.get("id", "unknown")


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def embedded_image(path: Path) -> str:
    """The image as a data URI; only PNG and JPEG, recognised by their first bytes."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"can't read screenshot {path}: {error.strerror or error}") from None
    mime = next((m for magic, m in IMAGE_TYPES.items() if data.startswith(magic)), None)
    if mime is None:
        raise InputError(f"screenshot {path} is not a PNG or JPEG image")
    return _data_uri(data, mime)
