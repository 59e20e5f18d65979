"""Static checks of the Slicer packaging: CMake lists exactly the module's files; the layout is complete."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
MODULE = REPO / "FLRSegmentation"
# The web app (`flrseg serve`) is installed with pip (the `web` extra), never into Slicer: Slicer's Python has no
# trame, and the module imports nothing of it. So the extension does not ship it, and CMake must not list it.
NOT_PACKAGED = ("FLRSegmentationWeb",)


def listed_files() -> set[str]:
    text = (MODULE / "CMakeLists.txt").read_text()
    return set(re.findall(r"^\s+((?:FLRSegmentation\w*Lib|Resources)/\S+|FLRSegmentation\.py)$", text, re.MULTILINE))


def module_files() -> set[str]:
    files = {p.relative_to(MODULE).as_posix() for p in MODULE.rglob("*.py")
             if "__pycache__" not in p.parts and p.relative_to(MODULE).parts[0] not in NOT_PACKAGED}
    files |= {p.relative_to(MODULE).as_posix() for p in (MODULE / "Resources").rglob("*") if p.is_file()}
    return files


def test_cmake_lists_every_module_file_and_nothing_else():
    listed, present = listed_files(), module_files()
    assert present - listed == set(), f"not listed in FLRSegmentation/CMakeLists.txt: {sorted(present - listed)}"
    assert listed - present == set(), f"listed but missing: {sorted(listed - present)}"


def test_web_app_is_left_out_of_the_extension_and_in_the_wheel():
    cmake = (MODULE / "CMakeLists.txt").read_text()
    assert list((MODULE / "FLRSegmentationWeb").glob("*.py")), "the web app's package is where pyproject looks"
    for package in NOT_PACKAGED:
        assert package not in cmake, f"{package} is pip-only; Slicer must not package it"
        assert f'"{package}*"' in (REPO / "pyproject.toml").read_text(), f"{package} must be in the wheel"


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
