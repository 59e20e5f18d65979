"""The planning page's layout: what sits where, which state each widget shows and which handler it calls.

Left, two tabs: Case (the CT, the run, the patient, the exports) and Edit (trame-slicer's segment editor with its
effects and undo). Middle: the axial view beside 3D and coronal. Right: the live volumetry (#flr-volumetry).
Handlers come from PlanningApp; state names start with `flr_` (trame-slicer's own start otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

from trame.ui.vuetify3 import SinglePageWithDrawerLayout
from trame.widgets import html
from trame.widgets import vuetify3 as v3
from trame_slicer.app.ui import LoadVolumeUI, SegmentEditorUI, SegmentEditorUndoRedoUI
from trame_slicer.views import Layout, LayoutDirection, ViewLayoutDefinition

from FLRSegmentationModuleLib.device_choice import DEVICE_TITLES
from FLRSegmentationModuleLib.module_logic import STRATEGY_TITLES
from FLRSegmentationModuleLib.volumetry_results import BSA_TITLES, CONDITION_TITLES, NORMAL_THRESHOLD_TITLES

LAYOUT_ID = "FLR planning"
VIEWS = Layout(LayoutDirection.Horizontal,
               [ViewLayoutDefinition.axial_view(),
                Layout(LayoutDirection.Vertical, [ViewLayoutDefinition.threed_view(),
                                                  ViewLayoutDefinition.coronal_view()])],
               flex_sizes=["3", "2"])
EXPORTS = (("seg", "Segmentation (.seg.nrrd)", "application/octet-stream"), ("csv", "Table (CSV)", "text/csv"),
           ("json", "All fields (JSON)", "application/json"), ("html", "One-page report (HTML)", "text/html"))
DEMO_TEXT = "Demo model: not for clinical use"


@dataclass
class Page:
    layout: SinglePageWithDrawerLayout
    upload: LoadVolumeUI
    editor: SegmentEditorUI


def choices(titles: dict) -> list[dict]:
    return [{"value": value, "title": title} for value, title in titles.items()]


def build_page(server, layouts, app) -> Page:
    with SinglePageWithDrawerLayout(server, width=360) as layout:
        layout.title.set_text("FLR Segmentation")
        layout.footer.hide()
        with layout.toolbar:
            v3.VChip(DEMO_TEXT, id="flr-demo", v_if=("flr_demo",), color="error", variant="flat", classes="mx-2")
            v3.VSpacer()
            v3.VProgressLinear(id="flr-progress", model_value=("flr_progress",), height=8, color="primary",
                               style="max-width: 260px;", classes="mx-2")
            v3.VBtn("{{ flr_running ? 'Cancel' : 'Run' }}", id="flr-run", click=app.on_run, variant="flat",
                    color=("flr_running ? 'warning' : 'primary'",), disabled=("!flr_running && !flr_volume_name",),
                    classes="mx-2")
        with layout.drawer:
            with v3.VTabs(v_model=("flr_tab", "case"), density="compact", grow=True):
                v3.VTab("Case", value="case", id="flr-tab-case")
                v3.VTab("Edit", value="edit", id="flr-tab-edit", disabled=("!flr_has_segmentation",))
            with v3.VWindow(v_model=("flr_tab",)):
                with v3.VWindowItem(value="case", classes="pa-3"):
                    upload = _case_panel(app)
                with v3.VWindowItem(value="edit", style="height: calc(100vh - 120px);"):
                    editor = _edit_panel()
        with layout.content:
            # the window's height below the toolbar, not the content's: a long volumetry panel scrolls on its own
            # instead of stretching the views (which would then zoom and run past the window's bottom)
            with html.Div(style="display: flex; height: calc(100vh - 64px);"):
                with html.Div(style="flex: 1; display: flex; flex-direction: column; min-width: 0;"):
                    layouts.initialize_layout_grid(layout)
                _volumetry_panel()
    return Page(layout, upload, editor)


def _case_panel(app) -> LoadVolumeUI:
    html.Div("CT", classes="text-subtitle-2")
    with html.Div(style="display: flex; align-items: center;"):
        upload = LoadVolumeUI()
        html.Div("{{ flr_volume_name || 'no CT open' }}", id="flr-volume", classes="text-body-2 ml-2")
    with html.Div(v_if=("flr_data_root",), style="display: flex; align-items: center;"):
        v3.VTextField(v_model=("flr_server_path", ""), id="flr-server-path", label=("`Path in ${flr_data_root}`",),
                      density="compact", hide_details=True)
        v3.VBtn("Open", id="flr-open-path", click=app.on_open_server_path, variant="tonal", classes="ml-2")
    html.Div("Segmentation", classes="text-subtitle-2 mt-3")
    v3.VSelect(v_model=("flr_model",), items=("flr_models", []), label="Model", density="compact", id="flr-model")
    v3.VSelect(v_model=("flr_strategy", "cascade"), items=("flr_strategies", choices(STRATEGY_TITLES)),
               label="Strategy", density="compact")
    v3.VSelect(v_model=("flr_device", "auto"), items=("flr_devices", choices(DEVICE_TITLES)), label="Device",
               density="compact")
    v3.VCheckbox(v_model=("flr_fast", False), label="Fast (first fold, no mirroring)", density="compact",
                 hide_details=True, id="flr-fast")
    html.Div("{{ flr_device_note }}", classes="text-caption")
    html.Div("{{ flr_status }}", id="flr-status", classes="text-body-2 mt-2", style="white-space: pre-wrap;")
    with v3.VExpansionPanels(classes="mt-2"), v3.VExpansionPanel():
        v3.VExpansionPanelTitle("Log")
        with v3.VExpansionPanelText():
            html.Pre("{{ flr_log.join('\\n') }}", id="flr-log", style="font-size: 11px; max-height: 200px; "
                     "overflow: auto; white-space: pre-wrap;")
    html.Div("Patient", classes="text-subtitle-2 mt-3")
    with html.Div(style="display: flex; gap: 8px;"):
        v3.VTextField(v_model=("flr_height", ""), label="Height (cm)", type="number", density="compact",
                      id="flr-height")
        v3.VTextField(v_model=("flr_weight", ""), label="Weight (kg)", type="number", density="compact",
                      id="flr-weight")
    v3.VSelect(v_model=("flr_bsa", "mosteller"), items=("flr_bsa_formulas", choices(BSA_TITLES)), label="BSA formula",
               density="compact")
    v3.VSelect(v_model=("flr_condition", "normal"), items=("flr_conditions", choices(CONDITION_TITLES)),
               label="Liver condition", density="compact")
    v3.VSelect(v_model=("flr_normal_threshold", list(NORMAL_THRESHOLD_TITLES)[0]),
               items=("flr_normal_thresholds", choices(NORMAL_THRESHOLD_TITLES)), label="Normal-liver minimum",
               density="compact", disabled=("flr_condition !== 'normal'",))
    html.Div("Export", classes="text-subtitle-2 mt-3")
    with html.Div(style="display: flex; flex-wrap: wrap; gap: 6px;"):
        for kind, title, mime in EXPORTS:
            v3.VBtn(title, id=f"flr-export-{kind}", size="small", variant="tonal", disabled=("!flr_has_segmentation",),
                    click=f"trigger('flr_export', ['{kind}']).then(content => content !== null && "
                          f"utils.download(flr_export_names['{kind}'], content, '{mime}'))")
    return upload


def _edit_panel() -> SegmentEditorUI:
    with html.Div(id="flr-editor", style="height: 100%; display: flex; flex-direction: column;"):
        with html.Div(id="flr-undo-redo", classes="py-1", style="display: flex; justify-content: center;"):
            undo_redo = html.Div(style="display: flex;")
        editor = SegmentEditorUI(v_if=("flr_has_segmentation",))
    with undo_redo:
        SegmentEditorUndoRedoUI(editor_ui=editor, row=True)
    return editor


def _volumetry_panel() -> None:
    with html.Div(id="flr-volumetry", style="width: 400px; padding: 8px; overflow-y: auto;"):
        html.Div("Run a segmentation: its FLR volumetry shows here and follows each edit.", v_if=("!flr_headline",),
                 classes="text-body-2 text-medium-emphasis")
        html.Div("{{ flr_headline }}", id="flr-percent", classes="text-subtitle-1 font-weight-bold")
        html.Div("{{ flr_model_text }}", id="flr-model-used", classes="text-caption")
        v3.VAlert(DEMO_TEXT, v_if=("flr_demo",), type="error", density="compact", variant="tonal", classes="my-1")
        v3.VAlert("{{ warning }}", v_for="warning in flr_warnings", key="warning", type="warning", density="compact",
                  variant="tonal", classes="my-1")
        with v3.VTable(density="compact", v_if=("flr_rows.length",), classes="text-caption"), html.Tbody():
            with html.Tr(v_for="row in flr_rows", key="row.quantity",
                         title=("[row.threshold, row.reference].filter(Boolean).join('; ')",)):
                html.Td("{{ row.quantity }}")
                html.Td("{{ row.value }} {{ row.unit }}", style="white-space: nowrap;")
                html.Td("{{ row.verdict }}")
        with html.Div(id="flr-chart", v_if=("flr_chart.groups.length",), classes="mt-3"):
            html.Div("{{ flr_chart.title }}", classes="text-caption")
            with html.Div(v_for="group in flr_chart.groups", key="group.label", classes="mt-1"):
                html.Div("{{ group.label }}", classes="text-body-2")
                with html.Div(v_for="bar in group.bars", key="bar.name",
                              style="display: flex; align-items: center; font-size: 11px;"):
                    html.Div("{{ bar.name }}", style="width: 110px;")
                    with html.Div(style="flex: 1;"):
                        html.Div(style=("{ width: bar.width + '%', background: bar.color, height: '10px' }",))
                    html.Div("{{ bar.value }} %", style="width: 48px; text-align: right;")
