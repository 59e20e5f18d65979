"""Progress reporting: machine-readable lines on stdout for the Slicer module, or a bar for people.

A progress line is `FLRSEG_PROGRESS {"stage": ..., "fraction": 0.0-1.0, "message": ...}`; fraction is the
whole run's, so a caller can drive one progress bar from it.
"""

from __future__ import annotations

import json
import sys

PROGRESS_PREFIX = "FLRSEG_PROGRESS "


def format_progress_line(stage: str, fraction: float, message: str) -> str:
    payload = {"stage": stage, "fraction": round(min(max(fraction, 0.0), 1.0), 4), "message": message}
    return PROGRESS_PREFIX + json.dumps(payload)


def parse_progress_line(line: str) -> dict | None:
    """The progress record in a line of engine output, or None for any other line."""
    if not line.startswith(PROGRESS_PREFIX):
        return None
    try:
        record = json.loads(line[len(PROGRESS_PREFIX):])
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) and {"stage", "fraction", "message"} <= record.keys() else None


class ProgressReporter:
    """Callable(stage, fraction, message). mode: 'lines' (stdout, only when asked for: stdout holds the results
    table), 'bar' (stderr), 'none', or 'auto' (a bar when stderr is a terminal, nothing otherwise)."""

    def __init__(self, mode: str = "auto", width: int = 30):
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "none"
        self.mode = mode
        self.width = width

    def __call__(self, stage: str, fraction: float, message: str) -> None:
        if self.mode == "lines":
            print(format_progress_line(stage, fraction, message), flush=True)
        elif self.mode == "bar":
            filled = int(round(self.width * fraction))
            bar = "#" * filled + "." * (self.width - filled)
            end = "\n" if fraction >= 1.0 else ""
            sys.stderr.write(f"\r[{bar}] {100 * fraction:5.1f}% {stage}: {message[:60]:<60}{end}")
            sys.stderr.flush()
