"""The import arrows of pyproject.toml's import-linter contracts hold, and each contract breaks on a wrong arrow."""

import os
import shutil
import subprocess
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
# The contracts' names, in order (no TOML reader: tomllib is Python 3.11+, the engine runs on 3.10).
CONTRACTS = re.findall(r'^name = "(.+)"$', (REPO / "pyproject.toml").read_text().split("[tool.importlinter]")[1],
                       re.MULTILINE)
# One wrong arrow per contract, in contract order: (file under FLRSegmentation/, the line that adds the arrow).
WRONG_ARROWS = [
    ("FLRSegmentationLib/volumetry/volumes.py", "from ..inference import engine"),
    ("FLRSegmentationLib/imaging/ct_input.py", "import slicer"),
    ("FLRSegmentationModuleLib/report_text.py", "from FLRSegmentationLib.cli import main"),
    ("FLRSegmentationModuleLib/device_choice.py", "from .widgets import combo_binding"),
    ("FLRSegmentationModuleLib/module_settings.py", "import qt"),
    ("FLRSegmentationModuleLib/volume_export.py", "import FLRSegmentationWeb.access"),
    ("FLRSegmentationWeb/volumetry_view.py", "from FLRSegmentationModuleLib.widgets import combo_binding"),
]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """lint-imports on the packages under root/FLRSegmentation with root's pyproject.toml, lines not wrapped."""
    env = dict(os.environ, PYTHONPATH=str(root / "FLRSegmentation"), COLUMNS="300")
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", str(root / "pyproject.toml")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_every_contract_is_kept():
    done = lint_imports(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(CONTRACTS) == len(WRONG_ARROWS) == 7
    for name in CONTRACTS:
        assert f"{name} KEPT" in done.stdout, name
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in done.stdout


def test_each_contract_breaks_on_a_wrong_arrow(tmp_path):
    """A copy of the packages with one arrow against each contract: every contract reports it, none is vacuous."""
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    for package in ("FLRSegmentationLib", "FLRSegmentationModuleLib", "FLRSegmentationWeb"):
        shutil.copytree(REPO / "FLRSegmentation" / package, tmp_path / "FLRSegmentation" / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for path, line in WRONG_ARROWS:
        target = tmp_path / "FLRSegmentation" / path
        target.write_text(target.read_text() + f"\n{line}\n")

    done = lint_imports(tmp_path)

    assert done.returncode == 1, done.stdout + done.stderr
    for name, (path, _) in zip(CONTRACTS, WRONG_ARROWS):
        assert f"{name} BROKEN" in done.stdout, (name, path)
    assert f"Contracts: 0 kept, {len(CONTRACTS)} broken." in done.stdout
