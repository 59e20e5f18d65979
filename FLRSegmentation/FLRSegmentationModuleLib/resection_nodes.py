"""MRML nodes of the Resection section and the engine's plan: markups as cut surfaces, masks in and out of
segmentation nodes, the surface models coloured by margin band.

A plane is a markups plane node (origin and normal; the normal points into the removed part). A curved surface is a
point list of 16 control points in the plan's order P[i][j] at index 4 i + j (Slicer 5.10 has no grid-surface
markup; the SurfaceMarkup extension's is not in Slicer itself). The nodes carry the attribute RESECTION_ATTRIBUTE
("plane" or "bezier"), so the section finds them again in a saved scene. Markups and models live in RAS; the engine works in LPS: the plan is
built as an RAS plan file would be, so the same checks apply.
"""

from __future__ import annotations

import numpy as np
import slicer
import vtk
from vtkmodules.util import numpy_support

from FLRSegmentationLib.imaging.image_grid import ImageGrid
from FLRSegmentationLib.resection.plan import PlaneCut, ResectionPlan, plan_from_json
from FLRSegmentationLib.resection.surface_mesh import BAND_ARRAY, DISTANCE_ARRAY
from FLRSegmentationLib.resection.tumours import R0_MARGIN_MM, TARGET_MARGIN_MM
from FLRSegmentationLib.volumetry.segmentation_volumes import pick_segments

from .singleton_nodes import singleton_node
from .volumetry_table import mask_on

RESECTION_ATTRIBUTE = "FLRSegmentation.Resection"
SURFACE_ROLE = "FLRSegmentationResectionSurface"
COLORS_SINGLETON = "FLRSegmentationMarginBands"
LPS_TO_RAS = np.array([-1.0, -1.0, 1.0])
MARGIN_BANDS = ((f"under {R0_MARGIN_MM:g} mm", (0.9, 0.1, 0.1)),
                (f"{R0_MARGIN_MM:g} to under {TARGET_MARGIN_MM:g} mm", (0.95, 0.75, 0.1)),
                (f"{TARGET_MARGIN_MM:g} mm or more", (0.2, 0.7, 0.3)))


def segmentation_masks(node) -> tuple[dict, ImageGrid, object]:
    """Liver and CRLM (and FLR when there is one) on the segmentation's common labelmap geometry, that grid in LPS,
    and the geometry itself (a vtkOrientedImageData) for writing masks back."""
    segmentation = node.GetSegmentation()
    ids_by_name = {segmentation.GetNthSegment(i).GetName(): segmentation.GetNthSegmentID(i)
                   for i in range(segmentation.GetNumberOfSegments())}
    names = {"liver": "Liver", "crlm": "CRLM", **({"flr": "FLR"} if "FLR" in ids_by_name else {})}
    segment_ids = pick_segments(ids_by_name, names, f"segmentation '{node.GetName()}'")
    ids = vtk.vtkStringArray()
    for segment_id in segment_ids.values():
        ids.InsertNextValue(segment_id)
    node.CreateBinaryLabelmapRepresentation()
    common = slicer.vtkOrientedImageData()
    geometry = segmentation.DetermineCommonLabelmapGeometry(slicer.vtkSegmentation.EXTENT_UNION_OF_EFFECTIVE_SEGMENTS,
                                                            ids)
    slicer.vtkSegmentationConverter.DeserializeImageGeometry(geometry, common, False)
    masks = {key: mask_on(node, segment_id, common) for key, segment_id in segment_ids.items()}
    return {"flr": None, **masks}, grid_of(common), common


def grid_of(image) -> ImageGrid:
    """The LPS grid of a vtkOrientedImageData's voxels, array index 0 at its extent's start."""
    matrix = vtk.vtkMatrix4x4()
    image.GetImageToWorldMatrix(matrix)
    ras = np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)])
    extent = image.GetExtent()
    start = ras @ np.array([extent[0], extent[2], extent[4], 1.0])
    axes = LPS_TO_RAS[:, None] * ras[:3, :3]
    spacing = np.linalg.norm(axes, axis=0)
    dims = [extent[1] - extent[0] + 1, extent[3] - extent[2] + 1, extent[5] - extent[4] + 1]
    return ImageGrid(tuple(int(d) for d in dims), tuple(float(s) for s in spacing),
                     tuple(float(c) for c in LPS_TO_RAS * start[:3]), tuple(float(v) for v in (axes / spacing).ravel()))


def set_box_segment(node, segment_id: str, name: str, color, mask: np.ndarray, start, common) -> None:
    """Replace a segment of node with a (k, j, i) mask placed at array index `start` of the common geometry."""
    segmentation = node.GetSegmentation()
    if segmentation.GetSegment(segment_id) is None:
        segment = slicer.vtkSegment()
        segment.SetName(name)
        segment.SetColor(*color)
        segmentation.AddSegment(segment, segment_id)
    extent = common.GetExtent()
    image = slicer.vtkOrientedImageData()
    image.ShallowCopy(common)  # geometry only; the extent and scalars are set below
    k0, j0, i0 = start
    nk, nj, ni = mask.shape
    image.SetExtent(extent[0] + i0, extent[0] + i0 + ni - 1, extent[2] + j0, extent[2] + j0 + nj - 1,
                    extent[4] + k0, extent[4] + k0 + nk - 1)
    scalars = numpy_support.numpy_to_vtk(np.ascontiguousarray(mask, np.uint8).ravel(), deep=1,
                                         array_type=vtk.VTK_UNSIGNED_CHAR)
    image.GetPointData().SetScalars(scalars)
    logic = slicer.vtkSlicerSegmentationsModuleLogic
    logic.SetBinaryLabelmapToSegment(image, node, segment_id, logic.MODE_REPLACE)


def copy_reference_geometry(source, target) -> None:
    """Give the plan's segmentation the source's reference geometry, so Slicer edits it on the CT's grid."""
    name = slicer.vtkSegmentationConverter.GetReferenceImageGeometryParameterName()
    segmentation = source.GetSegmentation()
    if name + "|" in segmentation.SerializeAllConversionParameters():  # GetConversionParameter logs when absent
        target.GetSegmentation().SetConversionParameter(name, segmentation.GetConversionParameter(name))


def markups_kind(node) -> str | None:
    """The kind of a resection's markups node, plane or bezier; None for other nodes (surfaces carry "surface")."""
    kind = node.GetAttribute(RESECTION_ATTRIBUTE) if node is not None else None
    return kind if kind in ("plane", "bezier") else None


def orphan_surfaces(scene, kept_ids: set) -> list:
    """Surface models whose markups node is gone (the user deleted it)."""
    models = scene.GetNodesByClass("vtkMRMLModelNode")
    return [m for m in (models.GetItemAsObject(i) for i in range(models.GetNumberOfItems()))
            if m.GetAttribute(RESECTION_ATTRIBUTE) == "surface" and m.GetID() not in kept_ids]


def add_markups(scene, cut) -> object:
    """A markups node for the cut: a plane node (point and normal) or a point list of its 16 control points."""
    if isinstance(cut, PlaneCut):
        node = scene.AddNewNodeByClass("vtkMRMLMarkupsPlaneNode", cut.name)
        node.SetOriginWorld(*(np.asarray(cut.origin) * LPS_TO_RAS))
        node.SetNormalWorld(*(cut.unit_normal * LPS_TO_RAS))
        node.SetAttribute(RESECTION_ATTRIBUTE, "plane")
    else:
        node = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", cut.name)
        points = vtk.vtkPoints()
        for point in cut.control_points:
            points.InsertNextPoint(*(np.asarray(point) * LPS_TO_RAS))
        node.SetControlPointPositionsWorld(points)
        for index in range(16):
            node.SetNthControlPointLabel(index, f"{cut.name} P{index // 4}{index % 4}")
        node.SetFixedNumberOfControlPoints(True)
        node.SetMaximumNumberOfControlPoints(16)
        node.SetAttribute(RESECTION_ATTRIBUTE, "bezier")
    return node


def size_plane(node, mesh_points_lps: np.ndarray) -> None:
    """Show the plane node as large as its surface mesh (the liver's section), not Slicer's default size."""
    origin = [0.0] * 3
    node.GetOriginWorld(origin)
    radius = np.linalg.norm(mesh_points_lps * LPS_TO_RAS - np.asarray(origin), axis=1).max()
    node.SetSizeMode(node.SizeModeAbsolute)
    node.SetSize(2 * radius / np.sqrt(2), 2 * radius / np.sqrt(2))


def plan_from_markups(nodes) -> ResectionPlan:
    """The plan the markups describe, checked like an RAS plan file (a point list that lost a point is refused)."""
    items = []
    for node in nodes:
        if markups_kind(node) == "plane":
            origin, normal = [0.0] * 3, [0.0] * 3
            node.GetOriginWorld(origin)
            node.GetNormalWorld(normal)
            items.append({"name": node.GetName(), "type": "plane", "origin": origin, "normal": normal})
        else:
            points = slicer.util.arrayFromMarkupsControlPoints(node, world=True)
            items.append({"name": node.GetName(), "type": "bezier", "control_points": points.tolist()})
    return plan_from_json({"coordinate_system": "RAS", "resections": items}, "the markups")


def margin_colors(scene):
    """The colour table of the margin bands (one per scene)."""
    table = singleton_node(scene, COLORS_SINGLETON, "vtkMRMLColorTableNode", "FLR margin bands")
    if table.GetNumberOfColors() != len(MARGIN_BANDS):
        table.SetTypeToUser()
        table.SetNumberOfColors(len(MARGIN_BANDS))
        for index, (name, rgb) in enumerate(MARGIN_BANDS):
            table.SetColor(index, name, *rgb, 1.0)
    return table


def update_surface(scene, markups_node, mesh) -> object:
    """The markups node's surface model, replaced by the mesh (RAS) with its distance and band scalars."""
    model = markups_node.GetNodeReference(SURFACE_ROLE)
    if model is None:
        model = scene.AddNewNodeByClass("vtkMRMLModelNode", f"{markups_node.GetName()} surface")
        model.SetAttribute(RESECTION_ATTRIBUTE, "surface")
        model.CreateDefaultDisplayNodes()
        markups_node.SetNodeReferenceID(SURFACE_ROLE, model.GetID())
        display = model.GetDisplayNode()
        display.SetAndObserveColorNodeID(margin_colors(scene).GetID())
        display.SetScalarRangeFlag(slicer.vtkMRMLDisplayNode.UseManualScalarRange)
        display.SetScalarRange(0, len(MARGIN_BANDS) - 1)
        display.SetBackfaceCulling(False)
    polydata = vtk.vtkPolyData()
    points = vtk.vtkPoints()
    points.SetData(numpy_support.numpy_to_vtk(mesh.points * LPS_TO_RAS, deep=1))
    polydata.SetPoints(points)
    cells = np.hstack([np.full((len(mesh.triangles), 1), 3), mesh.triangles]).astype(np.int64).ravel()
    triangles = vtk.vtkCellArray()
    triangles.ImportLegacyFormat(numpy_support.numpy_to_vtkIdTypeArray(cells, deep=1))  # VTK >= 9.0
    polydata.SetPolys(triangles)
    for name, values in ((DISTANCE_ARRAY, mesh.distance_mm), (BAND_ARRAY, mesh.band)):
        array = numpy_support.numpy_to_vtk(np.ascontiguousarray(values), deep=1)
        array.SetName(name)
        polydata.GetPointData().AddArray(array)
    model.SetAndObservePolyData(polydata)
    display = model.GetDisplayNode()
    display.SetActiveScalar(BAND_ARRAY, vtk.vtkAssignAttribute.POINT_DATA)
    display.ScalarVisibilityOn()
    return model

