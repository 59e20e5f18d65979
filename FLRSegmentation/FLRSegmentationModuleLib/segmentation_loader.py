"""Bring the engine's `.seg.nrrd` into the scene as a new segmentation node, never touching existing ones.

The node gets the table's names, colours and terminology (FLRSegmentationLib.vocabulary.segments), the CT as reference
geometry (so Segment Editor edits on the CT's grid), the CT's transform, display nodes for the slice and 3D
views, and a place beside the CT under its study in the subject hierarchy. The model that made it is kept on the
node (MODEL_ATTRIBUTE, saved with the scene) and as a tag of each segment (saved in a `.seg.nrrd`, where node
attributes are not), so every report on it, after any edits or a save and reload, names the model. The engine's
own provenance tag (FLRSegmentationLib/imaging/provenance.py), which Slicer keeps on each segment, wins when
present: it also tells, from the masks' signatures, whether the segments were edited after the model made them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import slicer
import vtk
from vtkmodules.util import numpy_support

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.imaging.provenance import (LPS_TO_RAS_4, PROVENANCE_TAG, mask_signature, parse_tag,
                                                   report_model, with_edit_state)
from FLRSegmentationLib.imaging.seg_nrrd import read_seg_nrrd
from FLRSegmentationLib.vocabulary.segments import SEGMENTS

NAME_SUFFIX = "FLR segmentation"
MODEL_ATTRIBUTE = "FLRSegmentation.Model"


def segmentation_name(volume_node) -> str:
    return f"{volume_node.GetName()} {NAME_SUFFIX}"


def load_engine_segmentation(seg_file: Path, volume_node):
    """A new segmentation node holding the file's Liver, CRLM and FLR, named uniquely after the volume."""
    scene = volume_node.GetScene()
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", scene.GenerateUniqueName(segmentation_name(volume_node)))
    try:
        _read_into(node, Path(seg_file))
        _apply_segment_table(node)
    except InputError:
        scene.RemoveNode(node)
        raise
    node.SetReferenceImageGeometryParameterFromVolumeNode(volume_node)
    node.SetAndObserveTransformNodeID(volume_node.GetTransformNodeID())
    node.CreateDefaultDisplayNodes()
    node.CreateClosedSurfaceRepresentation()  # shown in 3D as well
    _place_beside(node, volume_node)
    return node


def record_model(node, model: dict) -> None:
    """Keep the engine report's model (id, version, label, demo...) on the segmentation node and its segments."""
    text = json.dumps(model).replace("|", "\\u007c")  # '|' ends a tag in the file
    node.SetAttribute(MODEL_ATTRIBUTE, text)
    segmentation = node.GetSegmentation()
    for index in range(segmentation.GetNumberOfSegments()):
        segmentation.GetNthSegment(index).SetTag(MODEL_ATTRIBUTE, text)


def recorded_model(node) -> dict | None:
    """The model that made the node's segments (its label saying "edited after" it once edited); None for a
    segmentation neither the engine nor this module made."""
    provenance = recorded_provenance(node) if node is not None else None
    if provenance is not None:
        return report_model(provenance)
    text = (node.GetAttribute(MODEL_ATTRIBUTE) or _segment_tag(node)) if node is not None else None
    try:
        model = json.loads(text) if text else None
    except ValueError:
        return None
    return model if isinstance(model, dict) else None


def _segment_tag(node, tag: str = MODEL_ATTRIBUTE) -> str | None:
    """The tag of the first segment that has it (a `.seg.nrrd` the engine, this module or the web app wrote)."""
    segmentation = node.GetSegmentation()
    for index in range(segmentation.GetNumberOfSegments()):
        text = vtk.reference("")
        if segmentation.GetNthSegment(index).GetTag(tag, text):
            return str(text)
    return None


def recorded_provenance(node) -> dict | None:
    """The engine's provenance tag with `edited` from the segments' masks as they are now, or None."""
    provenance = parse_tag(_segment_tag(node, PROVENANCE_TAG))
    if provenance is None:
        return None
    segmentation = node.GetSegmentation()
    signatures = {segmentation.GetNthSegment(i).GetName(): _signature(node, segmentation.GetNthSegmentID(i))
                  for i in range(segmentation.GetNumberOfSegments())}
    return with_edit_state(provenance, signatures)


def _signature(node, segment_id: str) -> str:
    """The segment's mask signature, computed on its own labelmap (any extent, in RAS) as on the engine's file."""
    labelmap = slicer.vtkOrientedImageData()
    node.GetBinaryLabelmapRepresentation(segment_id, labelmap)
    dims, extent = labelmap.GetDimensions(), labelmap.GetExtent()
    scalars = labelmap.GetPointData().GetScalars()
    if min(dims) <= 0 or scalars is None:
        return "empty"
    mask = numpy_support.vtk_to_numpy(scalars).reshape(dims[::-1]) > 0
    matrix = vtk.vtkMatrix4x4()
    labelmap.GetImageToWorldMatrix(matrix)
    ijk_to_ras = np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)])
    offset = np.eye(4)
    offset[:3, 3] = extent[0::2]  # the array starts at the extent's first voxel, not at index 0
    return mask_signature(mask, LPS_TO_RAS_4 @ ijk_to_ras @ offset)


def _read_into(node, seg_file: Path) -> None:
    """Read with Slicer's own storage node, then drop it: the file lives in a temporary folder.

    The file is read with the engine's reader first: Slicer's reader aborts the whole application on some damaged
    files instead of returning an error.
    """
    if not seg_file.is_file():
        raise InputError(f"The engine wrote no segmentation file ({seg_file.name})")
    read_seg_nrrd(seg_file)
    scene = node.GetScene()
    storage = scene.AddNewNodeByClass("vtkMRMLSegmentationStorageNode")
    try:
        storage.SetFileName(str(seg_file))
        if storage.ReadData(node) != 1:
            raise InputError(f"Can't read the segmentation the engine wrote ({seg_file.name})")
    finally:
        node.SetAndObserveStorageNodeID(None)
        scene.RemoveNode(storage)


def _apply_segment_table(node) -> None:
    segmentation = node.GetSegmentation()
    missing = [s.name for s in SEGMENTS if segmentation.GetSegment(s.key) is None]
    if missing:
        raise InputError(f"the engine's segmentation lacks the segment(s) {', '.join(missing)}")
    tag = slicer.vtkSegment.GetTerminologyEntryTagName()
    for spec in SEGMENTS:
        segment = segmentation.GetSegment(spec.key)
        segment.SetName(spec.name)
        segment.SetColor(*spec.color)
        segment.SetTag(tag, spec.terminology_entry)


def _place_beside(node, volume_node) -> None:
    """Same parent as the volume: its study for DICOM data, the scene for a loaded file."""
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(volume_node.GetScene())
    parent = hierarchy.GetItemParent(_item(hierarchy, volume_node))
    hierarchy.SetItemParent(_item(hierarchy, node), parent)


def _item(hierarchy, node) -> int:
    """The node's hierarchy item; Slicer's GUI makes one for every node, a scene without it may not have one."""
    item = hierarchy.GetItemByDataNode(node)
    if item == hierarchy.GetInvalidItemID():
        item = hierarchy.CreateItem(hierarchy.GetSceneItemID(), node)
    return item
