"""FLR % and sFLR beside the minimum for the liver's condition, as a bar chart (a plot chart node).

Two bar series side by side for each measured quantity: the value and the minimum (at or below it: insufficient,
above it: sufficient), so the verdict can be read off the chart. The quantity the threshold's source measured is
labelled as the one the verdict rests on, the other as supporting, and the title is the headline verdict
(FLRSegmentationLib/volumetry/headline.py). Slicer's bar charts have no error bars, so the range of the networks'
uncertain voxels (FLRSegmentationLib/volumetry/uncertainty.py) is drawn as two more bars, its low and high end
(both equal to the value when there is no range). The chart's table is refilled from each assessment, so the chart follows the user's edits together
with the results table.
"""

from __future__ import annotations

import slicer
import vtk

from FLRSegmentationLib.volumetry.flr_thresholds import MEASURE_TITLES
from FLRSegmentationLib.volumetry.headline import headline_of

from .singleton_nodes import singleton_node

LABEL_COLUMN = "Quantity"
SERIES = (("Measured", "Measured (%)", (0.2, 0.4, 0.8)),
          ("Minimum", "Minimum (%)", (0.85, 0.1, 0.1)),
          ("Range low", "Uncertain voxels out (%)", (0.55, 0.65, 0.85)),
          ("Range high", "Uncertain voxels in (%)", (0.1, 0.2, 0.5)))
RANGES = {"flr_percent": "flr_percent_range", "sflr_percent": "sflr_percent_range"}
VIEW_SINGLETON = "FLRSegmentationChartView"


def make_chart(scene, name: str):
    """A new chart node with its table and series, empty until update_chart fills it."""
    table_node = scene.AddNewNodeByClass("vtkMRMLTableNode", f"{name} table")
    chart = scene.AddNewNodeByClass("vtkMRMLPlotChartNode", name)
    for title, column, color in SERIES:
        series = scene.AddNewNodeByClass("vtkMRMLPlotSeriesNode", f"{name} {title}")
        series.SetAndObserveTableNodeID(table_node.GetID())
        series.SetPlotType(slicer.vtkMRMLPlotSeriesNode.PlotTypeBar)
        series.SetYColumnName(column)
        series.SetLabelColumnName(LABEL_COLUMN)
        series.SetColor(*color)
        chart.AddAndObservePlotSeriesNodeID(series.GetID())
    chart.SetYAxisTitle("% of the liver volume")
    chart.SetXAxisTitle("")
    chart.SetLegendVisibility(True)
    update_chart(chart, None, "not measured yet")
    return chart


def chart_view_node(scene):
    """The plot view node of the module's embedded chart widget, made on first use; it shows one chart at a time.

    Propagation is off (also on a node from a saved scene): otherwise the application logic puts whichever chart
    another module selects (e.g. the Plots module's "show in layout") into every plot view that allows it.
    """
    view = singleton_node(scene, VIEW_SINGLETON, "vtkMRMLPlotViewNode", "FLR chart view")
    view.SetDoPropagatePlotChartSelection(False)
    return view


def chart_table(chart):
    return chart.GetNthPlotSeriesNode(0).GetTableNode()


def update_chart(chart, result: dict | None, problem: str | None = None) -> None:
    """One row per quantity the assessment has a value for; the title names the minimum, or why nothing shows."""
    rows = []
    if result is not None:
        head = headline_of(result)
        low = result["threshold_percent"]
        order = (head["measure"], head["supporting"]["measure"])  # the verdict's bar first
        rows = [(f"{MEASURE_TITLES[key]} ({'verdict' if key == head['measure'] else 'supporting'})", result[key], low,
                 *(result.get(RANGES[key]) or (result[key], result[key])))
                for key in order if result.get(key) is not None and not result.get("no_flr_reason")]
        problem = result.get("no_flr_reason")
    table = vtk.vtkTable()
    labels = vtk.vtkStringArray()
    labels.SetName(LABEL_COLUMN)
    table.AddColumn(labels)
    for _, column, _ in SERIES:
        values = vtk.vtkDoubleArray()
        values.SetName(column)
        table.AddColumn(values)
    table.SetNumberOfRows(len(rows))
    for index, row in enumerate(rows):
        for column, cell in enumerate(row):
            table.SetValue(index, column, vtk.vtkVariant(cell))
    chart_table(chart).SetAndObserveTable(table)
    if problem:
        chart.SetTitle(f"Not measured: {problem}")
    else:
        chart.SetTitle(f"{head['verdict'].capitalize()} on {MEASURE_TITLES[head['measure']]}"
                       f"{' (in place of sFLR)' if head['substitute'] else ''}: {head['bands']}")
