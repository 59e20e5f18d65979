"""The results section's warning box: every warning of the assessment, above the table (HTML for a QLabel)."""

from __future__ import annotations

import html

BOX_STYLE = "background-color: #fff4e0; border: 2px solid #b60; padding: 4px;"


def warning_box_html(result: dict | None) -> str:
    """"" when there is nothing to warn about (the box is hidden then)."""
    warnings = (result or {}).get("warnings") or []
    if not warnings:
        return ""
    items = "".join(f"<li>{html.escape(w['message'])}</li>" for w in warnings)
    return f"<b>Warnings</b><ul style='margin: 0'>{items}</ul>"
