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

from ui_files import UI_FOLDER, ui_widgets

REPO = Path(__file__).resolve().parents[3]
MODULE = REPO / "FLRSegmentation"
MODULE_FILE = MODULE / "FLRSegmentation.py"
MODULE_LIB = MODULE / "FLRSegmentationModuleLib"
# The GUI code: the module file and the module's sections (widgets/*_widget.py, which import Qt and run only in Slicer).
GUI_FILES = [MODULE_FILE] + sorted((MODULE_LIB / "widgets").glob("*_widget.py"))
HEADLESS_FILES = sorted(p for p in MODULE_LIB.rglob("*.py") if p not in GUI_FILES and "__pycache__" not in p.parts)
PARAMETERS = {"inputVolume", "modelId", "strategy", "device", "fast", "outputSegmentation", "heightCm", "weightKg",
              "bsaFormula", "condition", "normalThreshold", "pveBefore", "pveAfter", "pveWeeks"}


def ui_file_of(path: Path) -> Path:
    """The .ui a GUI file loads by name, else the module's own."""
    named = re.findall(r"UI/(\w+\.ui)", path.read_text())
    return UI_FOLDER / (named[0] if named else "FLRSegmentation.ui")


def module_tree() -> ast.Module:
    return ast.parse(MODULE_FILE.read_text())


@pytest.mark.parametrize("path", GUI_FILES, ids=lambda p: p.name)
def test_every_widget_the_code_uses_exists_in_its_ui(path):
    used = set(re.findall(r"self\.ui\.(\w+)", path.read_text()))
    if path != MODULE_FILE:
        assert used, f"{path.name} binds no GUI element?"
    assert used - set(ui_widgets(ui_file_of(path))) == set()


@pytest.mark.parametrize("ui_file", sorted(UI_FOLDER.glob("*.ui")), ids=lambda p: p.name)
def test_ui_parses_and_declares_its_custom_widgets(ui_file):
    root = ElementTree.parse(ui_file).getroot()
    declared = {c.findtext("class") for c in root.iter("customwidget")}
    used = {w.get("class") for w in root.iter("widget")}
    assert {c for c in used if not c.startswith("Q")} <= declared


def test_parameter_node_fields_and_every_use_of_them():
    wrapper = next(n for n in module_tree().body if isinstance(n, ast.ClassDef) and n.name.endswith("ParameterNode"))
    assert {n.target.id for n in wrapper.body if isinstance(n, ast.AnnAssign)} == PARAMETERS
    bound = {p.findtext("string") for ui in UI_FOLDER.glob("*.ui") for w in ui_widgets(ui).values()
             for p in w.findall("property") if p.get("name") == "SlicerParameterName"}
    assert bound and bound <= PARAMETERS
    code = "\n".join(p.read_text() for p in GUI_FILES)
    combos = set(re.findall(r'ComboBinding\([^,]+, "(\w+)"', code))
    assert combos == {"modelId", "strategy", "device", "bsaFormula", "condition", "normalThreshold"}
    read = set(re.findall(r"\b(?:params|runParameters)\.(\w+)", code))
    assert read and read <= PARAMETERS, read - PARAMETERS


def test_module_has_the_standard_classes():
    classes = {n.name: [ast.unparse(b) for b in n.bases] for n in module_tree().body if isinstance(n, ast.ClassDef)}
    assert classes["FLRSegmentation"] == ["ScriptedLoadableModule"]
    assert "ScriptedLoadableModuleWidget" in classes["FLRSegmentationWidget"]
    assert classes["FLRSegmentationLogic"] == ["ScriptedLoadableModuleLogic"]  # holds a ModuleLogic
    assert classes["FLRSegmentationTest"] == ["ScriptedLoadableModuleTest"]


def test_widget_only_binds():
    """The module file's widget holds no work: every method is a few lines of binding."""
    widget = next(n for n in module_tree().body if isinstance(n, ast.ClassDef) and n.name == "FLRSegmentationWidget")
    lengths = {f.name: f.end_lineno - f.lineno for f in widget.body if isinstance(f, ast.FunctionDef)}
    assert max(lengths.values()) <= 20, lengths


@pytest.mark.parametrize("path", HEADLESS_FILES, ids=lambda p: p.relative_to(MODULE_LIB).as_posix())
def test_module_lib_imports_without_qt(path):
    """The Lib runs headless: no Qt or CTK at import time (neither is installed here, so importing proves it)."""
    assert not re.search(r"^(import|from) (qt|ctk)\b", path.read_text(), re.MULTILINE)
    importlib.import_module(".".join(("FLRSegmentationModuleLib", *path.relative_to(MODULE_LIB).with_suffix("").parts))
                            .removesuffix(".__init__"))


@pytest.mark.parametrize("path", GUI_FILES[1:], ids=lambda p: p.name)
def test_gui_sections_leave_the_work_to_the_lib(path):
    """A GUI section parses and does no computing of its own: no array, image or network library."""
    work = {"numpy", "scipy", "SimpleITK", "torch", "nnunetv2", "nrrd", "vtkmodules"}
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        assert not {name.split(".")[0] for name in names} & work, (path.name, names)


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
