"""The README's Slicer section says which Slicer versions the module is checked against and how, and what the
dependency installer does to Slicer's own packages."""

from __future__ import annotations

import re
from pathlib import Path

from slicer_sources import BUNDLED_PACKAGES

REPO = Path(__file__).resolve().parents[3]


def slicer_section() -> str:
    text = (REPO / "README.md").read_text()
    return text[text.index("## The 3D Slicer module"):text.index("## Annotating a dataset")]


def test_readme_says_which_slicer_versions_and_how_they_are_checked():
    section = slicer_section()
    assert re.search(r"Checked against Slicer 5\.10\.0 and 5\.12\.0 statically and headless, not in the application",
                     section)
    for version in BUNDLED_PACKAGES:
        assert version in section
    assert "never replaced" in section and "constraints" in section and "pydicom 2.4.4" in section
