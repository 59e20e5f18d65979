"""The results section through real MRML (slicer-core): table and chart follow edits and patient values; exports.

The segmentation is module/conftest.py's seg_path: Liver 480, CRLM 8, FLR 192 voxels of 1 mm^3 on an oblique grid.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import slicer
from vtkmodules.vtkCommonCore import VTK_UNSIGNED_CHAR
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkIOImage import vtkPNGWriter

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.volumetry.export import DEMO_MARK
from FLRSegmentationLib.volumetry.rows import COLUMNS
from FLRSegmentationModuleLib.results_chart import LABEL_COLUMN, SERIES, chart_table
from FLRSegmentationModuleLib.segmentation_loader import record_model
from FLRSegmentationModuleLib.volumetry_results import PatientValues, VolumetryResults, model_text
from mrml_volumetry import ManualScheduler, set_segment_voxels, table_values

DEMO_MODEL = {"id": "demo-phantom", "version": "1.0.0", "demo": True,
              "label": "demo-phantom 1.0.0 (demo - not for clinical use)"}
TLV_160_90 = -794.41 + 1267.28 * (160 * 90 / 3600) ** 0.5  # Vauthey's estimated TLV, Mosteller BSA 2.0 m^2


def chart_rows(chart, with_range=False) -> list[tuple]:
    """Label, value, minimum; the range bars (low, high) too with with_range, else they must both equal the value
    (no range known)."""
    table = chart_table(chart).GetTable()
    assert [table.GetColumnName(c) for c in range(table.GetNumberOfColumns())] == [LABEL_COLUMN] + [
        column for _, column, _ in SERIES]
    rows = [tuple(table.GetValue(r, c).ToString() if c == 0 else round(table.GetValue(r, c).ToDouble(), 3)
                  for c in range(table.GetNumberOfColumns())) for r in range(table.GetNumberOfRows())]
    if with_range:
        return rows
    assert all(row[3] == row[4] == row[1] for row in rows)
    return [row[:3] for row in rows]


@pytest.fixture
def node(seg_path, read_with_slicer):
    node = read_with_slicer(seg_path)
    node.SetName("CT FLR segmentation")
    return node


@pytest.fixture
def results(scene):
    results = VolumetryResults(scene, ManualScheduler)
    yield results
    results.close()


def test_following_a_segmentation_fills_its_table_and_chart(results, node):
    results.follow(node, PatientValues())
    assert table_values(results.table_node)["FLR % (FLR / functional liver)"] == "40.68"  # 192 / 472
    chart = results.chart
    assert chart.GetNumberOfPlotSeriesNodes() == 4
    for index, (_, column, _) in enumerate(SERIES):
        series = chart.GetNthPlotSeriesNode(index)
        assert series.GetPlotType() == slicer.vtkMRMLPlotSeriesNode.PlotTypeBar
        assert (series.GetTableNode(), series.GetYColumnName()) == (chart_table(chart), column)
    # no height and weight: Kishi's sFLR threshold is judged on FLR % in its place, and the title says so
    assert chart_rows(chart) == [("FLR % (verdict)", 40.678, 20.0)]
    assert chart.GetTitle() == ("Sufficient on FLR % (in place of sFLR): <= 20 % insufficient; > 20 % sufficient "
                                "(normal liver; the source measured sFLR)")


def test_table_and_chart_follow_an_edit_after_the_debounce(results, node):
    results.follow(node, PatientValues(160, 90))
    assert chart_rows(results.chart)[0] == ("sFLR (verdict)", round(100 * 0.192 / TLV_160_90, 3), 20.0)
    assert results.chart.GetTitle().startswith("Insufficient on sFLR: <= 20 % insufficient")  # FLR % 40.7 % is only supporting
    set_segment_voxels(node, "flr", np.s_[0:6, 0:8, 0:6])  # FLR 288 voxels, 4 of them CRLM: 284 mm^3
    assert chart_rows(results.chart)[1][1] == 40.678  # nothing yet: the edit waits for the debounce
    results.live.scheduler.fire()
    assert chart_rows(results.chart) == [("sFLR (verdict)", round(100 * 0.284 / TLV_160_90, 3), 20.0),
                                         ("FLR % (supporting)", round(100 * 284 / 472, 3), 20.0)]
    assert table_values(results.table_node)["FLR % (FLR / functional liver)"] == f"{100 * 284 / 472:.2f}"


def test_patient_values_recompute_and_a_bad_value_shows_in_table_and_chart(results, node):
    results.follow(node, PatientValues())
    results.follow(node, PatientValues(condition="chemotherapy"))
    assert results.live.scheduler.armed  # recomputed like an edit, after the debounce
    results.live.scheduler.fire()
    assert chart_rows(results.chart) == [("FLR % (verdict)", 40.678, 30.0)]

    results.follow(node, PatientValues(height_cm=170))  # weight not given
    results.live.scheduler.fire()
    assert "the weight is missing" in table_values(results.table_node)["Not measured"]
    assert chart_rows(results.chart) == [] and "the weight is missing" in results.chart.GetTitle()

    results.follow(node, PatientValues(height_cm=50, weight_kg=70))
    results.live.scheduler.fire()
    assert "outside the adult human range 100-250 cm" in results.chart.GetTitle()


def test_each_segmentation_keeps_its_own_table_and_chart(results, node, scene, seg_path, read_with_slicer):
    results.follow(node, PatientValues())
    first_table, first_chart = results.table_node, results.chart
    other = read_with_slicer(seg_path)
    results.follow(other, PatientValues())
    assert results.table_node is not first_table and results.chart is not first_chart
    results.follow(node, PatientValues())
    assert (results.table_node, results.chart) == (first_table, first_chart)
    assert scene.GetNumberOfNodesByClass("vtkMRMLPlotChartNode") == 2
    results.follow(None, PatientValues())
    assert results.live is None and results.table_node is None


def write_png(path) -> None:
    image = vtkImageData()
    image.SetDimensions(4, 3, 1)
    image.AllocateScalars(VTK_UNSIGNED_CHAR, 3)
    writer = vtkPNGWriter()
    writer.SetFileName(str(path))
    writer.SetInputData(image)
    writer.Write()


def test_exports_hold_the_latest_edit_and_name_the_model(results, node, tmp_path):
    record_model(node, DEMO_MODEL)
    results.follow(node, PatientValues(160, 90, condition="cirrhosis"))
    set_segment_voxels(node, "flr", np.s_[0:6, 0:8, 0:6])  # not yet debounced when exporting
    screenshot = tmp_path / "3d.png"
    write_png(screenshot)
    for kind in ("csv", "json", "html"):
        results.export(kind, tmp_path / f"results.{kind}", screenshot if kind == "html" else None)

    data = json.loads((tmp_path / "results.json").read_text())
    assert data["flr_ml"] == 0.284 and data["threshold_percent"] == 40.0 and data["model"] == DEMO_MODEL
    assert data["segmentation"] == "CT FLR segmentation" and data["sflr_percent"] == round(28.4 / TLV_160_90, 3)
    csv_lines = (tmp_path / "results.csv").read_text().splitlines()
    assert csv_lines[0] == ",".join(COLUMNS) and any(line.startswith("FLR % (FLR / functional liver),60.17")
                                                     for line in csv_lines)
    html = (tmp_path / "results.html").read_text()
    assert DEMO_MARK in html and DEMO_MODEL["label"] in html and "data:image/png;base64," in html
    assert "FLR volumetry: CT FLR segmentation" in html
    assert model_text(node) == f"Model: {DEMO_MODEL['label']}"


def test_refused_exports_leave_no_file(results, node, tmp_path):
    with pytest.raises(InputError, match="Select a segmentation"):
        results.export("csv", tmp_path / "none.csv")
    results.follow(node, PatientValues())
    not_an_image = tmp_path / "shot.png"
    not_an_image.write_text("text")
    with pytest.raises(InputError, match="not a PNG or JPEG"):
        results.export("html", tmp_path / "report.html", not_an_image)
    with pytest.raises(InputError, match="can't write .*choose another folder"):
        results.export("json", not_an_image / "results.json")  # a file where the folder should be
    results.follow(node, PatientValues(height_cm=170))
    with pytest.raises(InputError, match="Nothing to export: .*weight is missing"):
        results.export("json", tmp_path / "results.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.seg.nrrd", "shot.png"]
    assert model_text(node).startswith("Model: not recorded")


def test_on_update_is_called_once_the_table_and_chart_hold_the_new_numbers(scene, node):
    """The web app's hook: after each recompute (first watch, a debounced edit), never before the debounce."""
    seen = []
    results = VolumetryResults(scene, ManualScheduler, on_update=lambda: seen.append(
        (table_values(results.table_node)["FLR volume (CRLM excluded)"], chart_rows(results.chart)[0][1])))
    results.follow(node, PatientValues())
    set_segment_voxels(node, "flr", np.s_[0:6, 0:8, 0:6])
    assert len(seen) == 1
    results.live.scheduler.fire()
    assert seen == [("0.2", 40.678), ("0.3", round(100 * 284 / 472, 3))]
    results.close()


def test_engine_range_and_model_warnings_show_until_an_edit(results, node):
    """The engine's report (kept on the node when a run loads) gives the range bars and the warning box; an edit
    that changes the FLR drops the range, the model's out-of-domain warning stays."""
    from FLRSegmentationModuleLib.engine_findings import record_engine_findings
    from FLRSegmentationModuleLib.volumetry_warnings import warning_box_html

    domain = {"code": "out_of_model_domain", "message": "the input lies outside the model's training domain"}
    record_engine_findings(node, {"flr_ml": 0.192, "functional_liver_ml": 0.472, "flr_ml_range": [0.09, 0.11],
                                  "flr_percent_range": [19.0, 45.0], "uncertain_below_probability": 0.8,
                                  "uncertain_ml": {"liver": 0.05, "crlm": 0.0, "flr": 0.1},
                                  "warnings": [{"code": "liver_cut_by_scan", "message": "not carried over"}, domain]})
    results.follow(node, PatientValues())
    result = results.live.result
    assert chart_rows(results.chart, with_range=True) == [("FLR % (verdict)", 40.678, 20.0, 19.0, 45.0)]
    assert result["verdict"] == "uncertain"
    assert [w["code"] for w in result["warnings"]][:1] == ["out_of_model_domain"]
    assert "verdict_uncertain" in [w["code"] for w in result["warnings"]]
    box = warning_box_html(result)
    assert "training domain" in box and "19.0 and 45.0" in box and "not carried over" not in box
    assert table_values(results.table_node)["FLR % range (uncertain voxels out / in)"] == "19.00 - 45.00"

    set_segment_voxels(node, "flr", np.s_[0:6, 0:8, 0:6])
    results.live.scheduler.fire()
    result = results.live.result
    assert result.get("flr_percent_range") is None
    assert result["verdict"] == "sufficient" and chart_rows(results.chart)[0][1] == result["flr_percent"]
    assert [w["code"] for w in result["warnings"]][:1] == ["out_of_model_domain"]
