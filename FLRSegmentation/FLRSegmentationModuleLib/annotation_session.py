"""One case of an annotation dataset open in the scene: its CT, its label as editable segments, saving back.

Geometry: the label's grid is the CT file's, as the engine reads it. Segments are imported on that grid and
exported by resampling each one onto it, which is exact because the Segment Editor paints on the CT volume's
lattice. The volume node's voxel order is never assumed to be the file's: Slicer's reader reverses the slices of
a left-handed file (its storage node forces a right-handed IJK system).

Unsaved edits: a change event on the segmentation marks the case as touched; has_unsaved_edits() then compares
the segments with what was last loaded or saved (so an undone edit is no edit). Opening another case or closing
this one with unsaved edits raises UnsavedEditsError unless the caller, having asked the user, discards them.

Pre-label: a case without a label is segmented by the engine in the background (SegmentationJob); the result is
saved at once as the case's label (kind "prelabel", with the model), so a long AI run is never lost and the
annotator's corrections are counted against it.
"""

from __future__ import annotations

import time

import numpy as np
import slicer
from slicer.util import vtkMatrixFromArray
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import VTK_UNSIGNED_CHAR

from FLRSegmentationLib.annotation.dataset import AnnotationDataset
from FLRSegmentationLib.annotation.save import save_label
from FLRSegmentationLib.annotation.store import PRELABEL
from FLRSegmentationLib.errors import FLRSegError, InputError
from FLRSegmentationLib.vocabulary.segments import SEGMENTS_BY_KEY
from FLRSegmentationLib.volumetry.segmentation_volumes import DEFAULT_SEGMENT_NAMES, pick_segments

from .process_runner import EngineOptions, FinishedEvent, RunStatus
from .segmentation_job import SegmentationJob
from .volume_import import read_volume
from .volumetry_table import OBSERVED_EVENTS, mask_on


class UnsavedEditsError(FLRSegError):
    """The open case has edits that are not saved; save them or discard them explicitly."""


class AnnotationSession:
    def __init__(self, scene, dataset: AnnotationDataset, annotator: str, clock=time.monotonic):
        self.scene, self.dataset, self.annotator, self.clock = scene, dataset, annotator, clock
        self.case = self.volume_node = self.segmentation_node = self.job = None
        self._grid = self._saved = self._since = None
        self._touched = False
        self._observers = []

    # ---- open, edit state, save, close

    def open_case(self, case_id: str, discard_unsaved: bool = False) -> None:
        """Load the case's CT and label (empty segments when it has none); a failure keeps the current case."""
        self._check_can_leave(discard_unsaved)
        case = self.dataset.case(case_id)
        grid = self.dataset.grid(case)
        masks = self.dataset.read_label(case, grid) or {}
        volume = read_volume(self.scene, case.image, case.id)
        self.close_case(discard_unsaved=True)
        self.case, self._grid, self.volume_node = case, grid, volume
        self.segmentation_node = self.scene.AddNewNodeByClass("vtkMRMLSegmentationNode", f"{case.id} label")
        self.segmentation_node.SetReferenceImageGeometryParameterFromVolumeNode(volume)
        self.segmentation_node.CreateDefaultDisplayNodes()
        self._fill(masks)
        self._observers = [self.segmentation_node.AddObserver(event, self._on_edit) for event in OBSERVED_EVENTS]
        self._since = self.clock()

    def current_masks(self) -> dict:
        """The segments as the dataset holds them (key -> bool (z, y, x) on the CT grid), found by name; a missing
        segment, or one the dataset has no label for (it would not be saved), is an InputError."""
        masks, extra = self._export(self.segmentation_node, self._names())
        if extra:
            raise InputError(f"segment(s) {', '.join(extra)} are not labels of this dataset "
                             f"({', '.join(self._names().values())}) and would not be saved; rename or delete them")
        return masks

    def has_unsaved_edits(self) -> bool:
        if self.case is None or not self._touched:
            return False
        try:
            masks = self.current_masks()
        except FLRSegError:
            return True  # e.g. a segment renamed or added: an edit, and not one to drop silently
        if any(not np.array_equal(masks[key], self._saved[key]) for key in masks):
            return True
        self._touched = False
        return False

    def save(self) -> dict:
        """Write the segments back into the dataset (see annotation.save); returns the sidecar entry."""
        case = self._open_case()
        masks = self.current_masks()
        entry = save_label(self.dataset, case, masks, self.annotator)
        self._saved, self._touched = masks, False
        self._record_time()
        return entry

    def close_case(self, discard_unsaved: bool = False) -> None:
        """Remove the case's nodes (a running pre-label is cancelled) and add the time spent to its record."""
        self._check_can_leave(discard_unsaved)
        self.cancel_prelabel()
        if self.case is not None:
            self._record_time()
        for tag in self._observers:
            self.segmentation_node.RemoveObserver(tag)
        for node in (self.segmentation_node, self.volume_node):
            if node is not None and self.scene.IsNodePresent(node):
                self.scene.RemoveNode(node)
        self.case = self.volume_node = self.segmentation_node = self._grid = self._saved = self._since = None
        self._touched, self._observers = False, []

    # ---- review

    def set_notes(self, notes: str) -> None:
        self.dataset.store.set_notes(self._open_case().id, notes)

    def set_verified(self, verified: bool) -> None:
        """The flag applies to the saved label, so a case needs one, with no unsaved edits, to be verified."""
        case = self._open_case()
        if verified and (not case.has_label or self.has_unsaved_edits()):
            raise InputError(f"Save case '{case.id}' before marking it verified: the flag applies to the saved label")
        self.dataset.store.set_verified(case.id, verified, self.annotator)

    # ---- pre-label with the AI

    def start_prelabel(self, options: EngineOptions, python: str) -> None:
        case = self._open_case()
        if case.has_label:
            raise InputError(f"Case '{case.id}' has a label already; correct it instead of pre-labelling it")
        if self.job is not None:
            raise InputError(f"A pre-label of case '{case.id}' is running already")
        self.job = SegmentationJob(self.volume_node, options, python)

    def poll_prelabel(self) -> list:
        """The job's events (see SegmentationJob.poll); on success the pre-label is saved and shown."""
        if self.job is None:
            return []
        events = self.job.poll()
        if events and isinstance(events[-1], FinishedEvent):
            job, self.job = self.job, None
            if events[-1].status is RunStatus.SUCCEEDED:
                events[-1] = self._adopt(job, events[-1])
        return events

    def cancel_prelabel(self) -> None:
        if self.job is not None:
            job, self.job = self.job, None
            job.cancel()

    def _adopt(self, job: SegmentationJob, finished: FinishedEvent) -> FinishedEvent:
        """Save the engine's Liver, CRLM and FLR (those the dataset has) as the label, then show what was saved."""
        if self.has_unsaved_edits():  # painted while the AI ran: keep both, overwrite neither
            return FinishedEvent(RunStatus.FAILED, f"The case was edited during the pre-label, so it was not saved; "
                                 f"the AI's result is in '{job.segmentation_node.GetName()}'", finished.details)
        roles = {key: name for key, name in DEFAULT_SEGMENT_NAMES.items() if key in self._names()}
        model = {**job.report["model"], "strategy": job.report.get("strategy")}
        try:
            masks, _ = self._export(job.segmentation_node, roles)
            save_label(self.dataset, self.case, masks, self.annotator, PRELABEL, model)
            saved = self.dataset.read_label(self.case, self._grid)
        except FLRSegError as error:
            return FinishedEvent(RunStatus.FAILED, f"The pre-label could not be saved ({error}); the AI's result is "
                                 f"in '{job.segmentation_node.GetName()}'", finished.details)
        self.scene.RemoveNode(job.segmentation_node)
        self._fill(saved)
        return FinishedEvent(RunStatus.SUCCEEDED, f"Pre-labelled with {model.get('label', model.get('id'))} and saved; "
                             "correct it and save", finished.details)

    # ---- helpers

    def _open_case(self):
        if self.case is None:
            raise InputError("Open a case first")
        return self.case

    def _check_can_leave(self, discard_unsaved: bool) -> None:
        if not discard_unsaved and self.has_unsaved_edits():
            raise UnsavedEditsError(f"Case '{self.case.id}' has unsaved edits; save or discard them first")

    def _names(self) -> dict[str, str]:
        return {segment.key: segment.name for segment in self.case.label_format.segments}

    def _on_edit(self, caller, event) -> None:
        self._touched = True

    def _record_time(self) -> None:
        moment = self.clock()
        self.dataset.store.add_time(self.case.id, moment - self._since)
        self._since = moment

    def _fill(self, masks: dict) -> None:
        """Replace all segments with the dataset's, from masks on the CT grid (missing keys: empty)."""
        segmentation = self.segmentation_node.GetSegmentation()
        segmentation.RemoveAllSegments()
        tag = slicer.vtkSegment.GetTerminologyEntryTagName()
        for spec in self.case.label_format.segments:
            segment = slicer.vtkSegment()
            segment.SetName(spec.name)
            if spec.key in SEGMENTS_BY_KEY:
                segment.SetColor(*SEGMENTS_BY_KEY[spec.key].color)
                segment.SetTag(tag, SEGMENTS_BY_KEY[spec.key].terminology_entry)
            segment.AddRepresentation(slicer.vtkSegmentationConverter.GetBinaryLabelmapRepresentationName(),
                                      self._oriented_image(masks.get(spec.key)))
            segmentation.AddSegment(segment, spec.key)
        self._saved = {spec.key: np.asarray(masks[spec.key], bool) if spec.key in masks
                       else np.zeros(self._grid.shape, bool) for spec in self.case.label_format.segments}
        self._touched = False

    def _oriented_image(self, mask: np.ndarray | None = None, allocate: bool = True):
        """An image on the CT file's grid, holding `mask` (or zeros); geometry only when allocate is False."""
        image = slicer.vtkOrientedImageData()
        nx, ny, nz = self._grid.size
        image.SetExtent(0, nx - 1, 0, ny - 1, 0, nz - 1)
        image.SetImageToWorldMatrix(vtkMatrixFromArray(self._grid.ijk_to_ras()))
        if allocate:
            image.AllocateScalars(VTK_UNSIGNED_CHAR, 1)
            values = np.zeros(self._grid.shape, np.uint8) if mask is None else np.asarray(mask, np.uint8)
            image.GetPointData().GetScalars().DeepCopy(numpy_support.numpy_to_vtk(values.ravel(), deep=True))
        return image

    def _export(self, node, names: dict[str, str]) -> tuple[dict, list]:
        """The segments `names` maps keys to, found by name, on the CT grid; and the names of any other segments."""
        segmentation = node.GetSegmentation()
        ids_by_name = {segmentation.GetNthSegment(i).GetName(): segmentation.GetNthSegmentID(i)
                       for i in range(segmentation.GetNumberOfSegments())}
        ids = pick_segments(ids_by_name, names, f"segmentation '{node.GetName()}'")
        extra = sorted(name for name, segment_id in ids_by_name.items() if segment_id not in ids.values())
        node.CreateBinaryLabelmapRepresentation()
        geometry = self._oriented_image(allocate=False)
        return {key: mask_on(node, segment_id, geometry) for key, segment_id in ids.items()}, extra

