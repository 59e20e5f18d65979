"""The planning workflow in a real headless Chromium against a real `flrseg serve` (selenium, real MRML, the demo
cascade in a background process): token, data-root confinement, run, paint, undo, exports read back, cleanup.

The tests share one server and one browser (conftest.py) and run in file order: the workflow edits the scene the
later tests look at. A screenshot of the finished page is left in Testing/artifacts/ (or $FLRSEG_TEST_ARTIFACTS).
"""

from __future__ import annotations

import json
import re
import stat

import psutil
import pytest
import slicer
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from FLRSegmentationLib.volumetry.flr_assessment import AssessmentOptions, assess
from FLRSegmentationModuleLib.segmentation_loader import recorded_model
from FLRSegmentationModuleLib.volumetry_table import measure_segmentation_node
from web_browser import downloaded, drawn_views, http_get, stroke, text_of, wait_for

BSA_ROW = "Body surface area"  # a row only with height and weight
SEGMENTATION = "phantom FLR segmentation"  # the result node's name, after the CT (segmentation_loader)
RUN_TIMEOUT_S = 240  # the demo cascade with Fast takes about 15 s on 2 idle cores


def flr_percent(browser) -> float | None:
    match = re.search(r"(?<!s)FLR (\d+\.\d+) %", text_of(browser, "flr-percent"))
    return float(match.group(1)) if match else None


def click(browser, selector: str) -> None:
    browser.find_element(By.CSS_SELECTOR, selector).click()


def open_page(browser, server):
    browser.get(f"{server.base}/?token={server.token}")
    return drawn_views(browser)


def type_into(browser, element_id: str, text: str) -> None:
    field = browser.find_element(By.ID, element_id)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.BACKSPACE, text)


def test_pages_and_websocket_need_the_token(server):
    base, token = server.base, server.token
    for path in ("/", "/index.html", "/ws", f"/?token={token[:-1]}"):
        assert http_get(base + path)[0] == 403, path
    status, headers = http_get(f"{base}/index.html?token={token}&x=1")
    assert (status, headers["Location"]) == (302, "/index.html?x=1")  # the token leaves the address bar
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and token not in cookie
    name_value = cookie.split(";")[0]
    assert http_get(f"{base}/index.html", cookie=name_value)[0] == 200
    assert http_get(f"{base}/index.html", cookie=name_value[:-1] + "0")[0] == 403


def test_the_session_folder_is_private_while_serving(server):
    sessions = session_folders(server)  # inside the run's own private TMPDIR (the CLI's run guard)
    assert len(sessions) == 1, list(server.tmp.rglob("*"))
    assert stat.S_IMODE(sessions[0].stat().st_mode) == 0o700
    assert stat.S_IMODE(sessions[0].parent.stat().st_mode) == 0o700


def session_folders(server) -> list:
    return sorted(server.tmp.glob("flrseg-run-*/flrseg-serve-*"))


def test_an_uploaded_ct_opens_and_server_paths_stay_in_the_data_root(server, browser, data_root):
    open_page(browser, server)
    assert text_of(browser, "flr-volume") == "phantom"
    upload = browser.find_elements(By.CSS_SELECTOR, "input[type=file]:not([webkitdirectory])")[0]
    upload.send_keys(str(data_root.parent / "outside.nrrd"))  # the browser's own file, sent over the websocket
    wait_for(lambda: text_of(browser, "flr-volume") == "outside", 30, what="the uploaded CT")
    uploads = [p for p in session_folders(server)[0].glob("upload-*/*")]
    assert [p.name for p in uploads] == ["outside.nrrd"]  # inside the session's private folder
    for typed, refusal in (("../outside.nrrd", "without '..'"), ("outside link.nrrd", "outside the data folder")):
        type_into(browser, "flr-server-path", typed)
        click(browser, "#flr-open-path")
        wait_for(lambda: refusal in text_of(browser, "flr-status"), 20, what=f"the refusal of {typed}")
        assert text_of(browser, "flr-volume") == "outside"  # the case stays
    type_into(browser, "flr-server-path", "phantom.nrrd")
    click(browser, "#flr-open-path")
    wait_for(lambda: "Opened phantom" in text_of(browser, "flr-status"), 30, what="the CT inside the root")


def engine_processes(server) -> list[psutil.Process]:
    """`flrseg segment` and what it started (not the device check, which runs beside it)."""
    found = []
    for child in psutil.Process(server.process.pid).children():
        try:
            if "segment" in child.cmdline():
                found += [child, *child.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
    return found


def test_cancel_ends_the_engines_process_tree(server, browser):
    click(browser, "#flr-run")
    engine = wait_for(lambda: engine_processes(server), 30, what="the engine's process")
    wait_for(lambda: text_of(browser, "flr-run") == "CANCEL", 10, what="Run turned into Cancel")
    click(browser, "#flr-run")
    wait_for(lambda: text_of(browser, "flr-status") == "cancelled", 30, what="the cancelled run")
    assert engine_processes(server) == []
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in engine)
    assert text_of(browser, "flr-percent") == ""  # no result


def test_run_paint_undo_and_exports(server, browser, downloads, artifacts):
    open_page(browser, server)
    click(browser, "#flr-fast")
    click(browser, "#flr-run")
    before = wait_for(lambda: flr_percent(browser), RUN_TIMEOUT_S, 0.5, "the run's FLR %")
    assert "not for clinical use" in text_of(browser, "flr-demo").lower()
    assert "demo - not for clinical use" in text_of(browser, "flr-model-used")
    volumetry = text_of(browser, "flr-volumetry")
    assert "FLR % (FLR / functional liver)" in volumetry and BSA_ROW not in volumetry
    assert "FLR % stands in for it" in text_of(browser, "flr-percent")  # Kishi's sFLR threshold, no body size

    views = drawn_views(browser)
    axial = views[0]
    window_height = browser.execute_script("return window.innerHeight")
    assert axial.rect["y"] + axial.rect["height"] <= window_height  # the warnings scroll, the views stay in sight
    click(browser, "#flr-editor .mdi-brush")  # trame-slicer's Paint, on the active segment (FLR)
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#flr-editor .v-btn--active .mdi-brush"), 10,
             what="Paint active")
    drawn = axial.get_attribute("src")
    stroke(browser, axial, -120, -20)  # across the liver, left of the FLR
    painted = wait_for(lambda: (lambda value: value if value != before else None)(flr_percent(browser)), 30,
                       what="FLR % after the stroke")
    assert painted > before
    wait_for(lambda: axial.get_attribute("src") != drawn, 10, what="the axial view redrawn")

    click(browser, "#flr-tab-case")
    type_into(browser, "flr-height", "170")
    type_into(browser, "flr-weight", "70")
    wait_for(lambda: BSA_ROW in text_of(browser, "flr-volumetry"), 20, what="sFLR after height and weight")

    exported = {}
    for kind, suffix in (("seg", ".seg.nrrd"), ("csv", " FLR volumetry.csv"), ("json", " FLR volumetry.json"),
                         ("html", " FLR volumetry.html")):
        click(browser, f"#flr-export-{kind}")
        exported[kind] = downloaded(downloads, SEGMENTATION + suffix)
    node = slicer.vtkMRMLScene().AddNewNodeByClass("vtkMRMLSegmentationNode")
    reader = slicer.vtkMRMLSegmentationStorageNode()
    reader.SetFileName(str(exported["seg"]))
    assert reader.ReadData(node) == 1
    from_file = assess(measure_segmentation_node(node), AssessmentOptions(170, 70))
    assert round(from_file["flr_percent"], 2) == painted  # the file holds the edit the page showed
    assert recorded_model(node)["demo"] is True
    report = json.loads(exported["json"].read_text())
    assert round(report["flr_percent"], 2) == painted and report["model"]["demo"] is True
    assert report["sflr_percent"] == pytest.approx(from_file["sflr_percent"])
    assert f"{painted:.2f}" in exported["csv"].read_text()
    html = exported["html"].read_text()
    assert "NOT FOR CLINICAL USE" in html and "data:image/png;base64," in html  # with the 3D view

    click(browser, "#flr-tab-edit")
    ActionChains(browser).move_to_element(browser.find_element(By.ID, "flr-percent")).perform()  # no tooltip
    assert browser.save_screenshot(str(artifacts / "FLRSegmentation-web.png"))  # the edited case
    click(browser, "#flr-undo-redo .mdi-undo")
    wait_for(lambda: flr_percent(browser) == before, 30, what="FLR % back after undo")


def test_stopping_ends_the_session_and_removes_its_folder(server):
    assert server.stop() in (0, 143)  # SIGTERM, as a service manager or trame's launcher ends it
    assert list(server.tmp.iterdir()) == []
    assert "Traceback" not in server.output()
