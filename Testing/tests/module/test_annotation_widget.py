"""The annotation section, checked without Slicer's GUI: its .ui parses and holds every widget the code binds,
and the text it shows comes from the store's records."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

from annotation_phantoms import phantom_case, write_folder
from FLRSegmentationLib.annotation.dataset import open_dataset
from FLRSegmentationModuleLib.widgets import annotation_widget
from FLRSegmentationModuleLib.widgets.annotation_widget import UI_FILE, case_row, summary_text
from ui_files import ui_widgets


def test_ui_parses_into_one_collapsible_section():
    root = ElementTree.parse(UI_FILE).getroot()
    top = root.find("widget")
    assert top.get("class") == "ctkCollapsibleButton" and top.get("name") == "annotationCollapsibleButton"


def test_every_widget_the_section_binds_exists_in_its_ui():
    code = open(annotation_widget.__file__).read()
    used = set(re.findall(r"self\.ui\.(\w+)", code))
    assert {"datasetPathLineEdit", "casesTableWidget", "saveCaseButton", "verifiedCheckBox", "notesTextEdit"} <= used
    assert used - set(ui_widgets(UI_FILE)) == set()


def test_table_rows_and_summary_show_the_stored_records(tmp_path):
    ct, label = phantom_case(1)
    dataset = open_dataset(write_folder(tmp_path / "cts", {"a": (ct, label), "b": (ct, None)}))
    dataset.store.set_notes("a", "first line\nsecond line")
    dataset.store.add_time("a", 150.0)
    dataset.store.add_time("b", 5250.0)

    rows = [case_row(case, status, dataset.store.record(case.id)) for case, status in dataset.worklist()]

    assert rows == [("a", "pre-labelled", "2", "first line"), ("b", "not started", "88", "")]
    assert summary_text(dataset.summary()) == (
        "2 cases: 1 not started, 1 pre-labelled, 0 corrected, 0 verified; 1.5 h spent")
