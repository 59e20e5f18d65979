"""The module's per-user settings (models folder, last CPU timing) in one small JSON file.

A file beside Slicer's own settings rather than QSettings, so the logic that reads and writes them runs and is
tested without Qt. Written atomically (the engine's atomic_files), so a crash never leaves half a file; an unreadable
file counts as empty (the settings are conveniences, never needed to run).
"""

from __future__ import annotations

import json
from pathlib import Path

from FLRSegmentationLib.imaging.atomic_files import write_json_atomically


class ModuleSettings:
    def __init__(self, path: Path):
        self.path = Path(path)

    def _read(self) -> dict:
        try:
            values = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return values if isinstance(values, dict) else {}

    def get(self, key: str, default=None):
        return self._read().get(key, default)

    def set(self, key: str, value) -> None:
        write_json_atomically(self.path, {**self._read(), key: value})
