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


def slicer_saved_segmentation(scene, masks, reference, path):
    """Save masks (name -> bool (z, y, x) on the SimpleITK image `reference`) as Slicer does: a segmentation node
    whose reference geometry is `reference`, written by vtkMRMLSegmentationStorageNode cropped to the segments."""
    import numpy as np
    from vtkmodules.vtkCommonCore import VTK_UNSIGNED_CHAR, vtkStringArray
    from vtkmodules.vtkCommonDataModel import vtkImageData
    from vtkmodules.vtkCommonMath import vtkMatrix4x4

    from FLRSegmentationLib.imaging.seg_reference import index_to_ras

    matrix = vtkMatrix4x4()
    for r, row in enumerate(index_to_ras(reference)):
        for c, value in enumerate(row):
            matrix.SetElement(r, c, float(value))

    def labelmap_node(array):
        image = vtkImageData()
        image.SetDimensions(*reference.GetSize())
        image.AllocateScalars(VTK_UNSIGNED_CHAR, 1)
        numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())[:] = array.astype(np.uint8).ravel()
        node = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode")
        node.SetAndObserveImageData(image)
        node.SetIJKToRASMatrix(matrix)
        return node

    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode")
    node.SetReferenceImageGeometryParameterFromVolumeNode(labelmap_node(np.zeros(reference.GetSize()[::-1])))
    for name, mask in masks.items():
        segment_id = node.GetSegmentation().AddEmptySegment(name, name)
        ids = vtkStringArray()
        ids.InsertNextValue(segment_id)
        assert slicer.vtkSlicerSegmentationsModuleLogic.ImportLabelmapToSegmentationNode(labelmap_node(mask), node,
                                                                                        ids)
    storage = scene.AddNewNodeByClass("vtkMRMLSegmentationStorageNode")
    storage.SetCropToMinimumExtent(True)
    storage.SetFileName(str(path))
    assert storage.WriteData(node) == 1
    return node
