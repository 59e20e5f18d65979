"""Path fields act once the user has settled on a path, not once per keystroke.

CTK's ctkPathLineEdit (Libs/Widgets/ctkPathLineEdit.cpp at dd4caeae, the commit Slicer 5.10's
SuperBuild/External_CTK.cmake builds) connects its line edit's textChanged to updateHasValidInput, which emits
currentPathChanged for every acceptable text: typing /data/ds opens /, /d, /da, ... So no GUI file may act on
currentPathChanged; every ctkPathLineEdit is bound through PathBinding (editingFinished, and a browse button of
ours) with the field's own browse button hidden.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from FLRSegmentationModuleLib.widgets.path_binding import PathBinding

MODULE = Path(__file__).resolve().parents[3] / "FLRSegmentation"
GUI_FILES = [MODULE / "FLRSegmentation.py"] + sorted((MODULE / "FLRSegmentationModuleLib" / "widgets").glob("*_widget.py"))
UI_FILES = sorted((MODULE / "Resources" / "UI").glob("*.ui"))


def ui_widgets() -> dict[str, ElementTree.Element]:
    return {w.get("name"): w for ui in UI_FILES for w in ElementTree.parse(ui).getroot().iter("widget")}


def test_no_gui_file_acts_on_current_path_changed():
    for path in GUI_FILES:
        assert "currentPathChanged" not in path.read_text(), path.name


def test_every_path_field_is_bound_with_its_own_browse_button():
    widgets = ui_widgets()
    fields = {name for name, w in widgets.items() if w.get("class") == "ctkPathLineEdit"}
    code = "\n".join(path.read_text() for path in GUI_FILES)
    bound = dict(re.findall(r"PathBinding\(\s*(?:self\.)?ui\.(\w+),\s*(?:self\.)?ui\.(\w+)", code))
    assert fields and set(bound) == fields
    for field, button in bound.items():
        assert widgets[button].get("class") == "QToolButton", button
        hidden = {p.get("name"): p.findtext("bool") for p in widgets[field].findall("property")}
        assert hidden.get("showBrowseButton") == "false", f"{field} still shows ctkPathLineEdit's own browse button"


class Signal:
    def __init__(self):
        self.slots = []

    def connect(self, slot):
        self.slots.append(slot)

    def emit(self):
        for slot in self.slots:
            slot()


class PathLineEdit:
    """What PathBinding uses of a ctkPathLineEdit: currentPath, comboBox().lineEdit().editingFinished, browse()."""

    def __init__(self, path=""):
        self.currentPath, self.pick = path, None
        self.editingFinished = Signal()

    def comboBox(self):
        return self

    def lineEdit(self):
        return self

    def browse(self):
        if self.pick is not None:  # None: the user cancelled the dialog
            self.currentPath = self.pick


def bound(path=""):
    field, button, chosen = PathLineEdit(path), type("Button", (), {"clicked": Signal()})(), []
    binding = PathBinding(field, button, chosen.append)
    return field, button, binding, chosen


def test_typing_reports_the_path_once_when_editing_finishes():
    field, _, _, chosen = bound("/old")
    for prefix in ("/", "/d", "/da", "/data"):
        field.currentPath = prefix  # each keystroke; ctkPathLineEdit would emit currentPathChanged here
    assert chosen == []
    field.editingFinished.emit()
    field.editingFinished.emit()  # leaving the field again without a change
    assert chosen == ["/data"]


def test_browse_reports_the_pick_and_a_cancelled_dialog_nothing():
    field, button, _, chosen = bound("/old")
    button.clicked.emit()
    assert chosen == []
    field.pick = "/picked"
    button.clicked.emit()
    assert chosen == ["/picked"]


def test_showing_a_path_does_not_report_it():
    field, _, binding, chosen = bound("/old")
    field.currentPath = "/typed"
    binding.show("/old")  # e.g. the user kept the open case
    field.editingFinished.emit()
    assert chosen == [] and field.currentPath == "/old"
