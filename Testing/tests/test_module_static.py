"""Static checks of the Slicer module: the .ui and the widget code agree, the Index entry and resources are complete."""

from __future__ import annotations

import ast
import importlib
import json
import re
import struct
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "FLRSegmentation"
MODULE_FILE = MODULE / "FLRSegmentation.py"
UI_FILE = MODULE / "Resources" / "UI" / "FLRSegmentation.ui"


def ui_widgets() -> dict[str, ElementTree.Element]:
    return {w.get("name"): w for w in ElementTree.parse(UI_FILE).getroot().iter("widget")}


def module_tree() -> ast.Module:
    return ast.parse(MODULE_FILE.read_text())


def test_every_widget_the_code_uses_exists_in_the_ui():
    used = set(re.findall(r"self\.ui\.(\w+)", MODULE_FILE.read_text()))
    assert used, "the widget binds no GUI element?"
    assert used - set(ui_widgets()) == set()


def test_ui_parameter_bindings_name_real_parameters():
    wrapper = next(n for n in module_tree().body if isinstance(n, ast.ClassDef) and n.name.endswith("ParameterNode"))
    parameters = {n.target.id for n in wrapper.body if isinstance(n, ast.AnnAssign)}
    assert parameters == {"inputVolume", "modelId", "strategy", "device", "fast", "outputSegmentation"}
    bound = {p.findtext("string") for w in ui_widgets().values() for p in w.findall("property")
             if p.get("name") == "SlicerParameterName"}
    assert bound and bound <= parameters


def test_module_has_the_standard_classes():
    classes = {n.name: [ast.unparse(b) for b in n.bases] for n in module_tree().body if isinstance(n, ast.ClassDef)}
    assert classes["FLRSegmentation"] == ["ScriptedLoadableModule"]
    assert "ScriptedLoadableModuleWidget" in classes["FLRSegmentationWidget"]
    assert classes["FLRSegmentationLogic"] == ["ScriptedLoadableModuleLogic"]
    assert classes["FLRSegmentationTest"] == ["ScriptedLoadableModuleTest"]


@pytest.mark.parametrize("path", sorted((MODULE / "FLRSegmentationModuleLib").glob("*.py")), ids=lambda p: p.name)
def test_module_lib_imports_without_qt(path):
    """The Lib runs headless: no Qt or CTK at import time (neither is installed here, so importing proves it)."""
    assert not re.search(r"^(import|from) (qt|ctk)\b", path.read_text(), re.MULTILINE)
    importlib.import_module(f"FLRSegmentationModuleLib.{path.stem}")


def test_extensions_index_entry():
    entry = json.loads((REPO / "FLRSegmentation.json").read_text())
    assert entry["$schema"].startswith("https://raw.githubusercontent.com/Slicer/Slicer/")
    assert entry["category"] == "Segmentation"
    assert entry["scm_url"].startswith("https://github.com/") and entry["scm_revision"]
    assert entry["build_dependencies"] == ["PyTorch"]
    assert entry["tier"] in (1, 3, 5)
    assert not REPO.joinpath("FLRSegmentation.json").stem.startswith("Slicer")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_icon_and_screenshot_named_by_the_extension_exist():
    assert png_size(MODULE / "Resources" / "Icons" / "FLRSegmentation.png") == (128, 128)
    top = (REPO / "CMakeLists.txt").read_text()
    for url in re.findall(r"https://raw\.githubusercontent\.com/\S+?/main/(\S+?\.png)", top):
        assert (REPO / url).is_file(), url
