"""PlanningApp: binds the page's events to the Slicer module's logic, on trame-slicer's scene, views and editor.

What happens is the module's: ModuleLogic starts, polls and cancels `flrseg segment` in a background process
(SegmentationJob loads the result as a new node with the engine's names, colours and model), VolumetryResults
keeps the table and chart following the edits, exports are its own. This file only turns clicks and state
changes into those calls and their results into page state; trame-slicer's SegmentEditorLogic binds its editor.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from trame.app import TrameApp
from trame_slicer import module as trame_slicer_module
from trame_slicer.app.logic import SegmentEditorLogic
from trame_slicer.core import LayoutManager, SlicerApp
from trame_slicer.rca_view import register_rca_factories
from trame_slicer.segmentation import SegmentationOverwriteMode

from FLRSegmentationLib.errors import FLRSegError, InputError
from FLRSegmentationLib.imaging.ct_input import check_input
from FLRSegmentationLib.volumetry.flr_thresholds import NORMAL_THRESHOLDS
from FLRSegmentationModuleLib.module_logic import STRATEGY_TITLES, ModuleLogic, RunRequest, run_error_message
from FLRSegmentationModuleLib.module_settings import ModuleSettings
from FLRSegmentationModuleLib.process_runner import FinishedEvent, LogEvent, ProgressEvent, RunStatus
from FLRSegmentationModuleLib.segmentation_export import write_segmentation
from FLRSegmentationModuleLib.segmentation_loader import recorded_model
from FLRSegmentationModuleLib.volume_import import load_ct
from FLRSegmentationModuleLib.volumetry_results import PatientValues, VolumetryResults, model_text
from FLRSegmentationModuleLib.volumetry_table import DEBOUNCE_MS

from .access import resolve_under
from .command import ServeOptions
from .page import LAYOUT_ID, VIEWS, build_page
from .screenshot import capture_view
from .uploads import save_uploads
from .volumetry_view import chart_bars, headline, table_rows

MODULE_DIR = Path(__file__).resolve().parents[1]  # the Slicer module's folder: Models/ is found beside or above it
FLR_SEGMENT_ID = "flr"  # the engine's segment ids are the vocabulary's keys
POLL_SECONDS = 0.2  # as the module's GUI timer
LOG_LINES = 200
EMPTY_CASE = {"flr_volume_name": "", "flr_has_segmentation": False, "flr_tab": "case", "flr_progress": 0,
              "flr_demo": False, "flr_model_text": "", "flr_headline": "", "flr_rows": [], "flr_warnings": [],
              "flr_chart": chart_bars(None)}


class Debounce:
    """LiveVolumetry's scheduler on trame's asyncio loop: start() (re)arms one call after the delay, stop() disarms."""

    def __init__(self, callback, delay_s: float = DEBOUNCE_MS / 1000):
        self.callback, self.delay_s, self._pending = callback, delay_s, None

    def start(self) -> None:
        self.stop()
        try:
            self._pending = asyncio.get_running_loop().call_later(self.delay_s, self.callback)
        except RuntimeError:  # no loop yet (the server is still being set up): now
            self.callback()

    def stop(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None


class PlanningApp(TrameApp):
    def __init__(self, options: ServeOptions, session_dir: Path):
        super().__init__()
        self.options, self.session_dir = options, Path(session_dir)
        self.server.enable_module(trame_slicer_module)
        self.slicer = SlicerApp()
        register_rca_factories(self.slicer.view_manager, self.server)
        self.layouts = LayoutManager(self.slicer.scene, self.slicer.view_manager, self.server)
        self.layouts.register_layout(LAYOUT_ID, VIEWS)
        self.layouts.set_layout(LAYOUT_ID)
        self.editor = self.slicer.segmentation_editor
        self.editor_logic = SegmentEditorLogic(self.server, self.slicer)
        # per session: nothing one user chooses reaches another's page
        self.logic = ModuleLogic(MODULE_DIR, ModuleSettings(self.session_dir / "settings.json"), sys.executable)
        if options.models_folder:
            self.logic.set_models_folder(options.models_folder)
        self.volumetry = VolumetryResults(self.slicer.scene, Debounce, on_update=self.show_volumetry)
        self.volume = None
        self._set_initial_state()
        self.page = build_page(self.server, self.layouts, self)
        self.editor_logic.set_ui(self.page.editor)
        self.page.upload.on_load_volume.connect(self.on_upload)
        self.server.trigger("flr_export")(self.export)
        self.state.change("flr_height", "flr_weight", "flr_bsa", "flr_condition",
                          "flr_normal_threshold")(self.on_patient_changed)
        self.state.change("flr_model", "flr_device", "flr_fast")(self.on_run_options_changed)
        if options.open:
            self.open_ct(options.open)

    def _set_initial_state(self) -> None:
        models = [m for m in self.logic.models.models() if m.installed]
        self.state.update({
            "trame__title": "FLR Segmentation",
            "flr_models": [{"value": m.id, "title": m.display_name()} for m in models],
            "flr_model": models[0].id if models else None,
            "flr_data_root": str(self.options.data_root) if self.options.data_root else "",
            "flr_running": False, "flr_log": [], "flr_device_note": "", "flr_export_names": {},
            "flr_status": "Open a CT to begin" if models else "No model is installed; start with --models-folder",
            **EMPTY_CASE})

    # ---- the CT

    def open_ct(self, path: Path) -> None:
        """Replace the scene's case with the CT at path; a CT refused by its headers leaves the case as it was."""
        if self.logic.running:
            self.state.flr_status = "A segmentation is running; cancel it before opening another CT"
            return
        try:
            check_input(path)  # the headers, before the current case goes
        except FLRSegError as error:
            self.state.flr_status = str(error)
            return
        self.volumetry.close()
        self.slicer.scene.Clear()  # also resets the editor (Slicer's scene close)
        self.volume = None
        self.state.update(EMPTY_CASE)
        try:
            self.volume = load_ct(self.slicer.scene, path, self.session_dir)
        except FLRSegError as error:  # damaged after a sound header
            self.state.flr_status = str(error)
            return
        self.slicer.display_manager.show_volume_in_slice_background(self.volume)
        self.slicer.display_manager.reset_views()
        self.state.update({"flr_volume_name": self.volume.GetName(),
                           "flr_status": f"Opened {self.volume.GetName()}; choose the model and press Run"})
        self.on_run_options_changed()

    async def on_upload(self, files: list[dict]) -> None:
        with self.state:
            try:
                self.open_ct(save_uploads(files, self.session_dir))
            except FLRSegError as error:
                self.state.flr_status = str(error)

    def on_open_server_path(self) -> None:
        try:
            self.open_ct(resolve_under(self.options.data_root, self.state.flr_server_path or ""))
        except FLRSegError as error:
            self.state.flr_status = str(error)

    # ---- the run

    def on_run(self) -> None:
        if self.logic.running:
            self._show_event(self.logic.cancel())
            return
        state = self.state
        try:
            self.logic.start(RunRequest(self.volume, state.flr_model, state.flr_strategy, state.flr_device,
                                        bool(state.flr_fast)))
        except (FLRSegError, OSError) as error:
            state.flr_status = run_error_message(error)
            return
        state.update({"flr_running": True, "flr_progress": 0, "flr_log": [],
                      "flr_status": "Starting the segmentation in the background..."})
        asyncio.ensure_future(self._follow_run())

    async def _follow_run(self) -> None:
        while self.logic.running:
            await asyncio.sleep(POLL_SECONDS)
            with self.state:
                for event in self.logic.poll():
                    self._show_event(event)

    def _show_event(self, event) -> None:
        state = self.state
        if isinstance(event, ProgressEvent):
            state.flr_progress, state.flr_status = int(100 * event.fraction), event.message
        elif isinstance(event, LogEvent):
            state.flr_log = (state.flr_log + [event.text])[-LOG_LINES:]
        elif isinstance(event, FinishedEvent):
            succeeded = event.status is RunStatus.SUCCEEDED
            state.update({"flr_running": False, "flr_status": event.message, "flr_progress": 100 if succeeded else 0})
            if succeeded:
                self.show_segmentation(self.logic.segmentation_node)

    def show_segmentation(self, node) -> None:
        """The run's result in the views and the editor (FLR active, overlaps allowed: Liver holds FLR and CRLM)."""
        for other in self.slicer.scene.GetNodesByClass("vtkMRMLSegmentationNode"):
            if other is not node and other.GetDisplayNode():
                other.GetDisplayNode().SetVisibility(False)  # an earlier run's result stays, out of sight
        self.editor.set_active_segmentation(node, self.volume)
        self.editor.set_overwrite_mode(SegmentationOverwriteMode.ALLOW_OVERLAP)
        self.editor.set_surface_representation_enabled(True)
        self.editor.set_active_segment_id(FLR_SEGMENT_ID)
        self.slicer.display_manager.reset_views()  # after the surfaces exist, so the 3D camera frames them
        name = node.GetName()
        self.state.update({
            "flr_has_segmentation": True, "flr_tab": "edit", "flr_model_text": model_text(node),
            "flr_demo": bool((recorded_model(node) or {}).get("demo")),
            "flr_export_names": {"seg": f"{name}.seg.nrrd", **{kind: f"{name} FLR volumetry.{kind}"
                                                              for kind in ("csv", "json", "html")}}})
        self.volumetry.follow(node, self.patient_values())

    def on_run_options_changed(self, **_) -> None:
        state = self.state
        if state.flr_model:
            state.flr_strategies = [{"value": s, "title": STRATEGY_TITLES[s]}
                                    for s in self.logic.strategies(state.flr_model)]
            state.flr_device_note = self.logic.device_note(state.flr_device or "auto", self.volume, state.flr_model,
                                                           bool(state.flr_fast))
        if self.logic.devices.running and _loop_running():  # the background device check: note again when done
            asyncio.ensure_future(self._note_when_probed())

    async def _note_when_probed(self) -> None:
        while self.logic.devices.running:
            await asyncio.sleep(0.5)
        with self.state:
            self.on_run_options_changed()

    # ---- volumetry and exports

    def patient_values(self) -> PatientValues:
        state = self.state
        return PatientValues(_number(state.flr_height), _number(state.flr_weight), state.flr_bsa or "mosteller",
                             state.flr_condition or "normal", float(state.flr_normal_threshold or NORMAL_THRESHOLDS[0]))

    def on_patient_changed(self, **_) -> None:
        if self.volumetry.segmentation_node is not None:
            self.volumetry.follow(self.volumetry.segmentation_node, self.patient_values())

    def show_volumetry(self) -> None:
        live = self.volumetry.live
        result = live.result if live else None
        with self.state:
            self.state.update({
                "flr_rows": table_rows(self.volumetry.table_node), "flr_chart": chart_bars(self.volumetry.chart),
                "flr_headline": headline(result, live.error if live else None),
                "flr_warnings": [w["message"] for w in (result or {}).get("warnings", [])]})

    def export(self, kind: str):
        """The export's content for the browser to save (text, or bytes for .seg.nrrd); None with the reason shown."""
        node = self.volumetry.segmentation_node
        folder = Path(tempfile.mkdtemp(prefix="export-", dir=self.session_dir))
        try:
            if node is None:
                raise InputError("Run a segmentation first")
            path = folder / self.state.flr_export_names[kind]
            if kind == "seg":
                write_segmentation(node, path)
            else:
                screenshot = capture_view(self.slicer.view_manager, folder / "3d.png") if kind == "html" else None
                self.volumetry.export(kind, path, screenshot)
            content = path.read_bytes() if kind == "seg" else path.read_text(encoding="utf-8")
        except FLRSegError as error:
            self.state.flr_status = str(error)
            return None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        self.state.flr_status = f"Exported {path.name}"
        return content

    def close(self) -> None:
        """End of the session: the engine's process tree goes, the views stop following."""
        self.logic.cancel()
        self.volumetry.close()


def _number(text) -> float:
    """A height or weight field: empty or not a number is "not given" (0), as the module's spin boxes."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
