"""FLR volumetry of a segmentation node, shown in a table node that follows the user's edits.

The masks come from the node's binary labelmaps on the segmentation's common labelmap geometry (the lattice the
Segment Editor paints on), so volumes are voxel counts in the segmentation's own grid, exact as in the engine; a
segment on another lattice, which Slicer does not make by itself, is resampled to it by nearest neighbour.

LiveVolumetry recomputes after edits without blocking the GUI: each segment event only (re)starts a single-shot
scheduler, so a brush stroke of many events costs one recompute, DEBOUNCE_MS after the last of them. The scheduler
is injected: a QTimer in Slicer (volumetry_widget.qt_scheduler), a manual one in tests. No Qt import here.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import slicer
import vtk
from vtkmodules.util import numpy_support

from FLRSegmentationLib.errors import FLRSegError
from FLRSegmentationLib.volumetry.field_of_view import ScanGrid, field_of_view
from FLRSegmentationLib.volumetry.flr_assessment import AssessmentOptions, assess
from FLRSegmentationLib.volumetry.rows import COLUMNS, Row, volumetry_rows
from FLRSegmentationLib.volumetry.segmentation_volumes import DEFAULT_SEGMENT_NAMES, measure_volumes, pick_segments

from .engine_findings import with_engine_findings

DEBOUNCE_MS = 300  # well within the one second an edit may take to show
OBSERVED_EVENTS = (slicer.vtkSegmentation.SegmentAdded, slicer.vtkSegmentation.SegmentRemoved,
                   slicer.vtkSegmentation.SegmentModified, slicer.vtkSegmentation.SourceRepresentationModified)


def segment_masks(segmentation_node, names: dict[str, str] = DEFAULT_SEGMENT_NAMES) -> tuple[dict, object]:
    """Liver, CRLM and FLR masks (z, y, x) on the segmentation's common geometry, and that geometry (a
    vtkOrientedImageData whose extent starts at the masks' first voxel)."""
    segmentation = segmentation_node.GetSegmentation()
    ids_by_name = {segmentation.GetNthSegment(i).GetName(): segmentation.GetNthSegmentID(i)
                   for i in range(segmentation.GetNumberOfSegments())}
    segment_ids = pick_segments(ids_by_name, names, f"segmentation '{segmentation_node.GetName()}'")
    ids = vtk.vtkStringArray()
    for segment_id in segment_ids.values():
        ids.InsertNextValue(segment_id)
    segmentation_node.CreateBinaryLabelmapRepresentation()
    common = slicer.vtkOrientedImageData()
    geometry = segmentation.DetermineCommonLabelmapGeometry(slicer.vtkSegmentation.EXTENT_UNION_OF_EFFECTIVE_SEGMENTS,
                                                            ids)
    slicer.vtkSegmentationConverter.DeserializeImageGeometry(geometry, common, False)
    masks = {key: mask_on(segmentation_node, segment_id, common) for key, segment_id in segment_ids.items()}
    return masks, common


def measure_segmentation_node(segmentation_node, names: dict[str, str] = DEFAULT_SEGMENT_NAMES) -> dict:
    """Volumes, and whether the scan cut the liver, judged on the segmentation's reference geometry (the grid of
    the volume it was made on), as the engine judges a `.seg.nrrd` file; with the engine's findings when it made
    the segmentation (engine_findings.py)."""
    masks, common = segment_masks(segmentation_node, names)
    volumes = measure_volumes(masks["liver"], masks["crlm"], masks["flr"], common.GetSpacing())
    volumes.update(field_of_view(masks["liver"], oriented_grid(common), reference_grid(segmentation_node)))
    return with_engine_findings(segmentation_node, volumes)


def oriented_grid(image) -> ScanGrid:
    """A vtkOrientedImageData's index-to-RAS matrix and extent."""
    matrix = vtk.vtkMatrix4x4()
    image.GetImageToWorldMatrix(matrix)
    return ScanGrid(np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)]), image.GetExtent())


def reference_grid(segmentation_node) -> ScanGrid | None:
    """The grid of the volume the segmentation was made on (its "Reference image geometry"), or None."""
    converter = slicer.vtkSegmentationConverter
    text = segmentation_node.GetSegmentation().GetConversionParameter(
        converter.GetReferenceImageGeometryParameterName())
    if not text:
        return None
    reference = slicer.vtkOrientedImageData()
    converter.DeserializeImageGeometry(text, reference, False)
    extent = reference.GetExtent()
    if any(extent[2 * a + 1] < extent[2 * a] for a in range(3)):
        return None
    return oriented_grid(reference)


def fill_table(table_node, rows: list[Row]) -> None:
    """Replace the table's content with the rows: one row per quantity, the columns of rows.COLUMNS (volumetry)."""
    table = vtk.vtkTable()
    for title in COLUMNS:
        column = vtk.vtkStringArray()
        column.SetName(title)
        table.AddColumn(column)
    table.SetNumberOfRows(len(rows))
    for index, row in enumerate(rows):
        for column, cell in enumerate(row.cells()):
            table.SetValue(index, column, vtk.vtkVariant(cell))
    was_modifying = table_node.StartModify()
    table_node.SetAndObserveTable(table)
    table_node.SetUseColumnTitleAsColumnHeader(True)
    table_node.EndModify(was_modifying)


class LiveVolumetry:
    """Keeps a table node equal to the volumetry of a segmentation node while the user edits it.

    make_scheduler(callback) returns an object with start() (run callback once, after a delay, restarting the
    delay if already pending) and stop(); options() returns the current AssessmentOptions (the parameter node's
    height, weight and condition). result holds the last assessment, error the last problem as one line.
    """

    def __init__(self, segmentation_node, table_node, options: Callable[[], AssessmentOptions],
                 make_scheduler: Callable, names: dict[str, str] = DEFAULT_SEGMENT_NAMES,
                 on_result: Callable[[dict | None], None] | None = None):
        self.segmentation_node, self.table_node = segmentation_node, table_node
        self.options, self.names, self.on_result = options, names, on_result
        self.result: dict | None = None
        self.error: str | None = None
        self.scheduler = make_scheduler(self.recompute)
        self._observers = [segmentation_node.AddObserver(event, self._on_segmentation_event)
                           for event in OBSERVED_EVENTS]

    def request_update(self) -> None:
        """Recompute soon (after edits, or when height, weight or condition change)."""
        self.scheduler.start()

    def recompute(self) -> None:
        """Measure, judge and fill the table now; a problem (e.g. a renamed segment) shows as one table row."""
        try:
            self.result = assess(measure_segmentation_node(self.segmentation_node, self.names), self.options())
            self.error = None
            rows = volumetry_rows(self.result)
        except FLRSegError as error:
            self.result, self.error = None, str(error)
            rows = [Row("Not measured", self.error)]
        fill_table(self.table_node, rows)
        if self.on_result:
            self.on_result(self.result)

    def close(self) -> None:
        """Stop observing and cancel a pending recompute (the module calls this when the node changes)."""
        self.scheduler.stop()
        for tag in self._observers:
            self.segmentation_node.RemoveObserver(tag)
        self._observers = []

    def _on_segmentation_event(self, caller, event) -> None:
        self.request_update()


def mask_on(segmentation_node, segment_id: str, common) -> np.ndarray:
    """One segment's binary labelmap on the common geometry, as bool (z, y, x)."""
    labelmap = slicer.vtkOrientedImageData()
    segmentation_node.GetBinaryLabelmapRepresentation(segment_id, labelmap)
    resampled = slicer.vtkOrientedImageData()
    slicer.vtkOrientedImageDataResample.ResampleOrientedImageToReferenceOrientedImage(labelmap, common, resampled)
    dims = resampled.GetDimensions()
    if min(dims) <= 0 or resampled.GetPointData().GetScalars() is None:
        return np.zeros(tuple(max(d, 0) for d in dims[::-1]), bool)
    return numpy_support.vtk_to_numpy(resampled.GetPointData().GetScalars()).reshape(dims[::-1]) > 0
