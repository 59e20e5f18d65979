"""The HTML report's page: what a surgeon reads first comes first, and it prints on one A4 page.

Order: the NOT FOR CLINICAL USE mark of a demo model; the case (patient, study and series of a DICOM input, the
file name otherwise); one sentence with the verdict, the figure it rests on and the threshold (volumetry/headline.py);
the warnings; the table; the pictures (the segment command's preview or a screenshot, and the chart); the model;
the references, shortened in the table and given in full as numbered footnotes. Self-contained: images are data
URIs, so the file can be mailed or archived alone.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime

from .. import __version__
from .flr_thresholds import MEASURE_TITLES, REVIEW_REFERENCE, THRESHOLDS
from .headline import short_citation
from .rows import COLUMNS, Row

STYLE = """@page{size:A4;margin:12mm}
body{font-family:sans-serif;font-size:8.5pt;margin:0 auto;max-width:186mm;color:#111}
h1{font-size:13pt;margin:0 0 .2em}h2{font-size:9.5pt;margin:.6em 0 .2em}p{margin:.25em 0}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #aaa;padding:.1em .35em;text-align:left}
.demo{background:#c00;color:#fff;font-weight:bold;padding:.3em .5em}.case{color:#333}
.headline{font-size:11pt;font-weight:bold;border-left:6px solid #777;padding:.2em .5em;margin:.4em 0}
.headline.insufficient{border-color:#c00}.headline.sufficient{border-color:#070}
.headline.incomplete,.headline.uncertain{border-color:#b60}
td.insufficient{color:#c00;font-weight:bold}td.sufficient{color:#070;font-weight:bold}
.warnings{color:#a00}.pictures{display:flex;gap:4mm;align-items:flex-start;margin-top:.4em}
.pictures figure{margin:0}.pictures img{max-height:62mm;max-width:100%}figcaption{font-size:7.5pt;color:#555}
.refs{font-size:7pt;color:#444;padding-left:1.5em;margin:.2em 0}small{color:#555;font-size:7pt}"""


@dataclass
class Page:
    """What goes on the page; images are (caption, data URI)."""

    title: str
    rows: list[Row]
    headline: dict | None = None
    case_lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    model_line: str = "not recorded (the segmentation was measured as given)"
    demo_mark: str | None = None
    images: list[tuple[str, str]] = field(default_factory=list)


def render(page: Page) -> str:
    """The page as one HTML document."""
    notes = _Footnotes()
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(page.title)}</title>",
             f"<style>{STYLE}</style></head><body>"]
    if page.demo_mark:
        parts.append(f"<p class='demo'>{html.escape(page.demo_mark)}</p>")
    parts.append(f"<h1>{html.escape(page.title)}</h1>")
    parts += [f"<p class='case'>{html.escape(line)}</p>" for line in page.case_lines]
    if page.headline:
        parts.append(f"<p class='headline {html.escape(page.headline['verdict'])}'>"
                     f"{html.escape(page.headline['sentence'])}{notes.mark(page.headline['reference'])}</p>")
    if page.warnings:
        parts.append("<ul class='warnings'>" + "".join(f"<li>{html.escape(w)}</li>" for w in page.warnings)
                     + "</ul>")
    parts.append(_table(page.rows, notes))
    if page.images:
        parts.append("<div class='pictures'>" + "".join(
            f"<figure><img alt='{html.escape(caption)}' src='{uri}'><figcaption>{html.escape(caption)}"
            "</figcaption></figure>" for caption, uri in page.images) + "</div>")
    parts.append(f"<p>Segmentation model: {html.escape(page.model_line)}</p>")
    parts.append(_thresholds_line(notes))
    parts.append("<h2>References</h2><ol class='refs'>" + "".join(
        f"<li>{html.escape(text)}</li>" for text in notes.texts) + "</ol>")
    parts.append(f"<p><small>FLR Segmentation {__version__}, {datetime.now().isoformat(timespec='seconds')}. "
                 "Volumes are voxel counts x voxel volume in the segmentation's own grid. Research software: the "
                 "numbers support, and do not replace, the clinical decision.</small></p></body></html>")
    return "\n".join(parts) + "\n"


class _Footnotes:
    """Full reference texts numbered in order of first use; mark() gives the short citation with its number."""

    def __init__(self):
        self.texts: list[str] = []

    def number(self, text: str) -> int:
        if text not in self.texts:
            self.texts.append(text)
        return self.texts.index(text) + 1

    def mark(self, text: str) -> str:
        return f" <sup>[{self.number(text)}]</sup>" if text else ""

    def short(self, text: str) -> str:
        return f"{html.escape(short_citation(text))} [{self.number(text)}]" if text else ""


def _table(rows: list[Row], notes: _Footnotes) -> str:
    head = "".join(f"<th>{c}</th>" for c in COLUMNS)
    body = []
    for row in rows:
        cells = [html.escape(c) for c in row.cells()[:5]] + [notes.short(row.reference)]
        verdict_class = row.verdict.split(" ")[0] if row.verdict else ""
        body.append("<tr>" + "".join(f"<td class='{verdict_class}'>{c}</td>" if i == 4 else f"<td>{c}</td>"
                                     for i, c in enumerate(cells)) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _thresholds_line(notes: _Footnotes) -> str:
    """Every published minimum in one line, so the reader sees the chosen one among the alternatives."""
    items = [f"{html.escape(t.description)} {t.percent:g} % on {' or '.join(MEASURE_TITLES[m] for m in t.measures)}"
             f" ({notes.short(t.reference)})" for t in THRESHOLDS]
    return (f"<p><small>Minimum FLR by liver condition ({notes.short(REVIEW_REFERENCE)}): {'; '.join(items)}. "
            "At or below the minimum: insufficient; above it: sufficient.</small></p>")
