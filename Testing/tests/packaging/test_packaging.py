"""Static checks of the Slicer packaging: CMake lists exactly the module's files; the layout is complete."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
MODULE = REPO / "FLRSegmentation"


def listed_files() -> set[str]:
    text = (MODULE / "CMakeLists.txt").read_text()
    return set(re.findall(r"^\s+((?:FLRSegmentation\w*Lib|Resources)/\S+|FLRSegmentation\.py)$", text, re.MULTILINE))


def module_files() -> set[str]:
    files = {p.relative_to(MODULE).as_posix() for p in MODULE.rglob("*.py") if "__pycache__" not in p.parts}
    files |= {p.relative_to(MODULE).as_posix() for p in (MODULE / "Resources").rglob("*") if p.is_file()}
    return files


def test_cmake_lists_every_module_file_and_nothing_else():
    listed, present = listed_files(), module_files()
    assert present - listed == set(), f"not listed in FLRSegmentation/CMakeLists.txt: {sorted(present - listed)}"
    assert listed - present == set(), f"listed but missing: {sorted(listed - present)}"


def test_extension_layout():
    for path in ("CMakeLists.txt", "LICENSE.txt", "README.md", "pyproject.toml", "setup.sh", ".ci/run",
                 "Models/registry.json", "Models/build_demo_models.py"):
        assert (REPO / path).is_file(), path
    top = (REPO / "CMakeLists.txt").read_text()
    for needed in ("project(FLRSegmentation)", "EXTENSION_HOMEPAGE", "EXTENSION_DEPENDS", "add_subdirectory(FLRSegmentation)",
                   "Slicer_EXTENSION_GENERATE_CONFIG", "Slicer_EXTENSION_CPACK"):
        assert needed in top
    assert "Apache License" in (REPO / "LICENSE.txt").read_text()


def test_engine_has_no_slicer_import():
    for path in (MODULE / "FLRSegmentationLib").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(import slicer|from slicer\b|import qt|import ctk)", text, re.MULTILINE), path


def test_repository_weighs_little():
    models = sum(p.stat().st_size for p in (REPO / "Models").rglob("*") if p.is_file())
    assert models < 10 * 1024 * 1024, f"Models/ holds {models / 1e6:.1f} MB; the demo models must stay under 10 MB"
