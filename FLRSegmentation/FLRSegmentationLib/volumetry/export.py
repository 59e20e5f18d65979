"""Write the results as JSON (all fields), CSV (the rows) and a one-page, self-contained HTML report.

The HTML report carries what a reader needs to trust the numbers: each value with its threshold and reference,
the model that made the segmentation, marked "NOT FOR CLINICAL USE" when it is a demo model, and optionally a
screenshot embedded in the file, so the report is a single file that can be mailed or archived.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from datetime import datetime
from pathlib import Path

from .. import __version__
from ..errors import InputError
from .flr_thresholds import BORDERLINE_MARGIN_POINTS, REVIEW_REFERENCE, THRESHOLDS
from .rows import COLUMNS, Row

IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
DEMO_MARK = "Demo model trained on synthetic phantoms: NOT FOR CLINICAL USE"

_STYLE = """body{font-family:sans-serif;max-width:60em;margin:1.5em auto;font-size:11pt}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:.25em .5em;text-align:left}
.demo{background:#c00;color:#fff;font-weight:bold;padding:.5em}.insufficient{color:#c00;font-weight:bold}
.borderline{color:#b60;font-weight:bold}.sufficient{color:#070;font-weight:bold}img{max-width:100%}
small{color:#555}.warnings{border:2px solid #b60;background:#fff4e0;padding:.25em .75em;margin:.5em 0}"""


def write_json(path, result: dict) -> None:
    Path(path).write_text(json.dumps(result, indent=2) + "\n")


def write_csv(path, rows: list[Row]) -> None:
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        writer.writerows(row.cells() for row in rows)


def write_html(path, title: str, rows: list[Row], model: dict | None = None, screenshot=None,
               notes: list[str] = (), warnings: list[dict] = ()) -> None:
    """One page: demo mark, rows with thresholds and references, notes (warnings), the table of minimum FLR by
    condition, model, screenshot."""
    image = embedded_image(Path(screenshot)) if screenshot else None
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{_STYLE}</style></head><body>"]
    if model and model.get("demo"):
        parts.append(f"<p class='demo'>{DEMO_MARK}</p>")
    parts += warning_banner(warnings)
    parts.append(f"<h1>{html.escape(title)}</h1>")
    parts.append("<table><tr>" + "".join(f"<th>{c}</th>" for c in COLUMNS) + "</tr>")
    for row in rows:
        cells = [f"<td>{html.escape(c)}</td>" for c in row.cells()]
        cells[4] = f"<td class='{html.escape(row.verdict)}'>{html.escape(row.verdict)}</td>"
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table>")
    parts += [f"<p class='insufficient'>{html.escape(note)}</p>" for note in notes if note]
    parts += _thresholds_table()
    parts.append(f"<p>Segmentation model: {html.escape(_model_text(model))}</p>")
    if image:
        parts.append(f"<p><img alt='screenshot' src='{image}'></p>")
    parts.append(f"<p><small>FLR Segmentation {__version__}, {datetime.now().isoformat(timespec='seconds')}. "
                 "Volumes are voxel counts x voxel volume in the segmentation's own grid. Research software: the "
                 "numbers support, and do not replace, the clinical decision.</small></p></body></html>")
    Path(path).write_text("\n".join(parts) + "\n")


def warning_banner(warnings: list[dict]) -> list[str]:
    """The result's warnings in a box above everything else: they say what the numbers can't carry."""
    if not warnings:
        return []
    items = "".join(f"<li>{html.escape(w['message'])} <small>[{html.escape(w['code'])}]</small></li>"
                    for w in warnings)
    return [f"<div class='warnings'><b>Warnings</b><ul>{items}</ul></div>"]


def _thresholds_table() -> list[str]:
    """Every published minimum, so the reader sees the chosen one among the alternatives."""
    parts = [f"<h2>Minimum FLR by liver condition</h2><p>{html.escape(REVIEW_REFERENCE)}; borderline: up to "
             f"{BORDERLINE_MARGIN_POINTS:g} percentage points above the minimum.</p>",
             "<table><tr><th>Liver</th><th>Minimum FLR</th><th>Reference</th></tr>"]
    parts += [f"<tr><td>{html.escape(t.description)}</td><td>{t.percent:g} %</td><td>{html.escape(t.reference)}</td>"
              "</tr>" for t in THRESHOLDS]
    return parts + ["</table>"]


def _model_text(model: dict | None) -> str:
    if not model:
        return "not recorded (the segmentation was measured as given)"
    return model.get("label") or model.get("id", "unknown")


def embedded_image(path: Path) -> str:
    """The image as a data URI; only PNG and JPEG, recognised by their first bytes."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"can't read screenshot {path}: {error.strerror or error}") from None
    mime = next((m for magic, m in IMAGE_TYPES.items() if data.startswith(magic)), None)
    if mime is None:
        raise InputError(f"screenshot {path} is not a PNG or JPEG image")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
