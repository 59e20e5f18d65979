"""The Slicer module's .ui files as the tests read them: each widget by its object name."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

UI_FOLDER = Path(__file__).resolve().parents[3] / "FLRSegmentation" / "Resources" / "UI"


def ui_widgets(ui_file: Path = UI_FOLDER / "FLRSegmentation.ui") -> dict[str, ElementTree.Element]:
    return {w.get("name"): w for w in ElementTree.parse(ui_file).getroot().iter("widget")}
