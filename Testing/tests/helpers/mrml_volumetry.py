"""MRML helpers of the live-volumetry tests: a manual stand-in for the QTimer, a table node's values, and painting a
segment through MRML as the Segment Editor does."""

import slicer
from vtkmodules.util import numpy_support

from FLRSegmentationLib.volumetry.rows import COLUMNS

class ManualScheduler:
    """Stands in for the single-shot QTimer: start() arms it, fire() runs the callback if armed."""

    def __init__(self, callback):
        self.callback, self.armed, self.starts = callback, False, 0

    def start(self):
        self.armed, self.starts = True, self.starts + 1

    def stop(self):
        self.armed = False

    def fire(self):
        if self.armed:
            self.armed = False
            self.callback()


def table_values(table_node) -> dict[str, str]:
    table = table_node.GetTable()
    assert [table.GetColumn(c).GetName() for c in range(table.GetNumberOfColumns())] == list(COLUMNS)
    return {table.GetValue(r, 0).ToString(): table.GetValue(r, 1).ToString() for r in range(table.GetNumberOfRows())}


def set_segment_voxels(node, segment_id, box):
    """Replace a segment's labelmap through MRML, as the Segment Editor does: voxels in box (z, y, x) only."""
    labelmap = slicer.vtkOrientedImageData()
    node.GetBinaryLabelmapRepresentation("liver", labelmap)  # the liver's extent covers every edit below
    voxels = numpy_support.vtk_to_numpy(labelmap.GetPointData().GetScalars()).reshape(labelmap.GetDimensions()[::-1])
    voxels[:] = 0
    voxels[box] = 1
    labelmap.Modified()
    logic = slicer.vtkSlicerSegmentationsModuleLogic
    assert logic.SetBinaryLabelmapToSegment(labelmap, node, segment_id, logic.MODE_REPLACE)
