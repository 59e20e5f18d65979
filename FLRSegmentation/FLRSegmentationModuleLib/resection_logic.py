"""The Resection section's logic, without Qt: cut surfaces as markups the user drags, and what follows them.

For the segmentation shown in Result, each resection is a markups node (resection_nodes). Moving a point restarts a
single-shot scheduler (a QTimer in Slicer, a manual one in tests), so a drag costs one recompute DEBOUNCE_MS after
its last event: the engine's planner (built once per segmentation, again after the segmentation is edited) gives the
removed liver, the planned FLR's volumetry and the tumours' margins; the logic writes "FLR (planned)" and "Resected"
into the segmentation's plan node, the rows into a table node, the tumours into another, and each surface as a model
coloured by margin band. A problem (a surface that misses the liver, a segment renamed) shows as one table row.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

import vtk

from FLRSegmentationLib.errors import FLRSegError, InputError
from FLRSegmentationLib.imaging.atomic_files import write_json_atomically
from FLRSegmentationLib.resection.plan import ResectionPlan, read_plan
from FLRSegmentationLib.resection.plan_rows import TUMOUR_COLUMNS, plan_rows, tumour_cells
from FLRSegmentationLib.resection.planner import ResectionPlanner
from FLRSegmentationLib.volumetry.rows import Row
from FLRSegmentationLib.vocabulary.segments import RESECTED, SEGMENTS_BY_KEY

from .resection_nodes import (MARGIN_BANDS, SURFACE_ROLE, add_markups, copy_reference_geometry, markups_kind,
                              orphan_surfaces, plan_from_markups, segmentation_masks, set_box_segment, size_plane,
                              update_surface)
from .volumetry_results import PatientValues
from .volumetry_table import OBSERVED_EVENTS, fill_table

PLAN_ROLE, TABLE_ROLE, TUMOURS_ROLE = ("FLRSegmentationResectionPlan", "FLRSegmentationResectionTable",
                                       "FLRSegmentationResectionTumours")
PLANNED_FLR_ID, PLANNED_FLR_NAME = "flr_planned", "FLR (planned)"
KIND_TITLES = {"plane": "Plane", "bezier": "Curved"}
POINT_MODIFIED = 19008  # vtkMRMLMarkupsNode::PointModifiedEvent (the plane also fires it on every change)
NODE_REMOVED = 8195  # vtkMRMLScene::NodeRemovedEvent


class ResectionLogic:
    def __init__(self, scene, make_scheduler: Callable, on_result: Callable[[dict | None], None] | None = None):
        self.scene, self.on_result = scene, on_result
        self.scheduler = make_scheduler(self.recompute)
        self.segmentation_node = None
        self.values = PatientValues()
        self.planner: ResectionPlanner | None = None
        self.common = None  # the segmentation's labelmap geometry, to write masks back on
        self.result: dict | None = None
        self.error: str | None = None
        self.plan_node = self.table_node = self.tumour_table_node = None
        self._segmentation_tags: list[int] = []
        self._scene_tag = None
        self._markups_tags: dict[str, tuple] = {}  # node ID -> (node, observer tag)

    def follow(self, segmentation_node, values: PatientValues) -> None:
        """Plan on segmentation_node (None: stop) with these patient values."""
        changed = values != self.values
        self.values = values
        if segmentation_node is not self.segmentation_node:
            self._watch(segmentation_node)
        elif changed and self.segmentation_node is not None:
            self.request_update()

    def resection_nodes(self) -> list:
        """The scene's resection markups, in the order they were made."""
        nodes = self.scene.GetNodesByClass("vtkMRMLMarkupsNode")
        return [nodes.GetItemAsObject(i) for i in range(nodes.GetNumberOfItems())
                if markups_kind(nodes.GetItemAsObject(i))]

    def add(self, kind: str):
        """A new plane ("plane") or curved surface ("bezier") where the initial placement puts it; recomputed now."""
        cut = self._ensure_planner().initial_plan(kind).resections[0]
        names = {n.GetName() for n in self.resection_nodes()}
        number = next(k for k in range(1, len(names) + 2) if f"{KIND_TITLES[kind]} {k}" not in names)
        node = add_markups(self.scene, replace(cut, name=f"{KIND_TITLES[kind]} {number}"))
        if kind == "plane":
            size_plane(node, self.planner.meshes(ResectionPlan((cut,)))[0].points)
        self.recompute()
        return node

    def remove(self, node) -> None:
        self._remove(node)
        self.recompute()

    def plan(self) -> ResectionPlan:
        nodes = self.resection_nodes()
        if not nodes:
            raise InputError("Add a plane or a curved surface to plan a resection")
        return plan_from_markups(nodes)

    def save_plan(self, path: Path) -> None:
        """Write the markups as a plan file (RAS, Slicer's coordinates), atomically."""
        try:
            write_json_atomically(Path(path), self.plan().to_json("RAS"))
        except OSError as error:
            raise InputError(f"can't write {path}: {error.strerror or error}; choose another folder") from None

    def load_plan(self, path: Path) -> None:
        """Replace the resections with a plan file's (LPS or RAS); a bad file changes nothing."""
        plan = read_plan(path)
        for node in self.resection_nodes():
            self._remove(node)
        for cut in plan.resections:
            add_markups(self.scene, cut)
        self.recompute()

    def request_update(self) -> None:
        self.scheduler.start()

    def recompute(self) -> None:
        """Evaluate the markups' plan now and update the segments, tables and surfaces."""
        if self.segmentation_node is None:
            return
        self._sync_nodes()
        try:
            plan = self.plan()
            planner = self._ensure_planner()
            evaluation = planner.evaluate(plan, self.values.options())
        except FLRSegError as error:
            self.result, self.error = None, str(error)
            fill_table(self.table_node, [Row("Not computed", self.error)])
            _fill_columns(self.tumour_table_node, TUMOUR_COLUMNS, [])
            self._report()
            return
        self.result, self.error = evaluation.result, None
        self._write_segments(planner, evaluation.removed)
        fill_table(self.table_node, plan_rows(self.result))
        _fill_columns(self.tumour_table_node, TUMOUR_COLUMNS, [tumour_cells(t) for t in self.result["tumours"]])
        for node, mesh in zip(self.resection_nodes(), planner.meshes(plan)):
            update_surface(self.scene, node, mesh)
        self._report()

    def legend(self) -> list[tuple[str, tuple[float, float, float]]]:
        """The surface colours: (what the band means, RGB)."""
        return list(MARGIN_BANDS)

    def close(self) -> None:
        """Stop following (the node changed, the scene closes or the module is unloaded)."""
        self.scheduler.stop()
        for node_id in list(self._markups_tags):
            self._unobserve_markups(node_id)
        if self.segmentation_node is not None:
            for tag in self._segmentation_tags:
                self.segmentation_node.RemoveObserver(tag)
            self.scene.RemoveObserver(self._scene_tag)
        self._segmentation_tags, self.segmentation_node, self.planner, self.common = [], None, None, None

    def _watch(self, node) -> None:
        self.close()
        if node is None:
            return
        self.segmentation_node = node
        name = node.GetName()
        self.plan_node = self._referenced(PLAN_ROLE, "vtkMRMLSegmentationNode", f"{name} resection")
        self.table_node = self._referenced(TABLE_ROLE, "vtkMRMLTableNode", f"{name} planned FLR")
        self.tumour_table_node = self._referenced(TUMOURS_ROLE, "vtkMRMLTableNode", f"{name} tumour margins")
        copy_reference_geometry(node, self.plan_node)
        self._segmentation_tags = [node.AddObserver(event, self._on_segmentation_edited) for event in OBSERVED_EVENTS]
        self._scene_tag = self.scene.AddObserver(NODE_REMOVED, self._on_node_removed)  # a markups node deleted
        self.recompute()

    def _referenced(self, role: str, class_name: str, name: str):
        """The segmentation's node for this role from an earlier watch (or a saved scene), else a new one."""
        existing = self.segmentation_node.GetNodeReference(role)
        if existing is None:
            existing = self.scene.AddNewNodeByClass(class_name, name)
            self.segmentation_node.SetNodeReferenceID(role, existing.GetID())
        return existing

    def _ensure_planner(self) -> ResectionPlanner:
        if self.segmentation_node is None:
            raise InputError("Select a segmentation with Liver and CRLM segments in Result first")
        if self.planner is None:
            masks, grid, self.common = segmentation_masks(self.segmentation_node)
            self.planner = ResectionPlanner(masks["liver"], masks["crlm"], grid, masks["flr"])
        return self.planner

    def _write_segments(self, planner: ResectionPlanner, removed) -> None:
        box = planner.box
        planned = planner.liver & ~removed & ~planner.crlm
        was_modifying = self.plan_node.StartModify()
        for segment_id, name, color, mask in ((PLANNED_FLR_ID, PLANNED_FLR_NAME, SEGMENTS_BY_KEY["flr"].color, planned),
                                              (RESECTED.key, RESECTED.name, RESECTED.color, removed)):
            set_box_segment(self.plan_node, segment_id, name, color, box.trim(mask), box.start, self.common)
        self.plan_node.EndModify(was_modifying)

    def _remove(self, node) -> None:
        model = node.GetNodeReference(SURFACE_ROLE)
        self._unobserve_markups(node.GetID())
        for item in (model, node):
            if item is not None:
                self.scene.RemoveNode(item)

    def _on_segmentation_edited(self, caller, event) -> None:
        self.planner = None  # Liver or CRLM may have changed: masks and tumours are read again
        self.request_update()

    def _on_markups_moved(self, caller, event) -> None:
        self.request_update()

    def _on_node_removed(self, caller, event) -> None:
        if any(node.GetScene() is None for node, _ in self._markups_tags.values()):
            self.request_update()

    def _sync_nodes(self) -> None:
        """Observe new resection markups (e.g. from a loaded scene); forget deleted ones and remove their surfaces."""
        nodes = self.resection_nodes()
        for node in nodes:
            if node.GetID() not in self._markups_tags:
                self._markups_tags[node.GetID()] = (node, node.AddObserver(POINT_MODIFIED, self._on_markups_moved))
        for node_id in [i for i, (node, _) in self._markups_tags.items() if node.GetScene() is None]:
            self._unobserve_markups(node_id)
        kept = {node.GetNodeReferenceID(SURFACE_ROLE) for node in nodes}
        for model in orphan_surfaces(self.scene, kept):
            self.scene.RemoveNode(model)

    def _unobserve_markups(self, node_id: str) -> None:
        node, tag = self._markups_tags.pop(node_id, (None, None))
        if node is not None:
            node.RemoveObserver(tag)

    def _report(self) -> None:
        if self.on_result:
            self.on_result(self.result)


def _fill_columns(table_node, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    table = vtk.vtkTable()
    for title in columns:
        column = vtk.vtkStringArray()
        column.SetName(title)
        table.AddColumn(column)
    table.SetNumberOfRows(len(rows))
    for index, cells in enumerate(rows):
        for column, cell in enumerate(cells):
            table.SetValue(index, column, vtk.vtkVariant(cell))
    was_modifying = table_node.StartModify()
    table_node.SetAndObserveTable(table)
    table_node.SetUseColumnTitleAsColumnHeader(True)
    table_node.EndModify(was_modifying)
