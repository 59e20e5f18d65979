"""The module's FLR chart stays in its own view when another module selects a chart.

Slicer's vtkMRMLApplicationLogic::PropagatePlotChartSelection (Libs/MRML/Logic, v5.10.0) puts the selection node's
active chart into every vtkMRMLPlotViewNode whose DoPropagatePlotChartSelection is on (the default); the Plots
module's "show in layout" calls it. Run here with the real MRML classes of slicer-core.
"""

from __future__ import annotations

import slicer

from FLRSegmentationModuleLib.results_chart import chart_view_node, make_chart


def propagate(scene, chart_id: str) -> None:
    """What another module does to show its chart: select it, then propagate the selection."""
    logic = slicer.vtkSlicerApplicationLogic()
    logic.SetMRMLScene(scene)
    logic.GetSelectionNode().SetActivePlotChartID(chart_id)
    logic.PropagatePlotChartSelection()


def test_another_modules_chart_does_not_replace_ours(scene):
    view = chart_view_node(scene)
    ours = make_chart(scene, "FLR chart")
    view.SetPlotChartNodeID(ours.GetID())
    other = scene.AddNewNodeByClass("vtkMRMLPlotChartNode", "Another module's chart")
    layout_view = scene.AddNewNodeByClass("vtkMRMLPlotViewNode", "Layout plot view")  # propagation on, as Slicer's
    propagate(scene, other.GetID())
    assert layout_view.GetPlotChartNodeID() == other.GetID()  # the propagation really ran
    assert view.GetPlotChartNodeID() == ours.GetID()
    assert not view.GetDoPropagatePlotChartSelection()


def test_a_view_node_from_a_saved_scene_gets_propagation_turned_off(scene):
    saved = chart_view_node(scene)
    saved.SetDoPropagatePlotChartSelection(True)  # as an older version of the module saved it
    assert chart_view_node(scene) is saved and not saved.GetDoPropagatePlotChartSelection()
