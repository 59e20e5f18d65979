"""The browser tests' shared fixtures: one phantom CT, one `flrseg serve` with a token and a data root, one headless
Chromium, for the whole module (the server start and the demo run are what cost time)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import SimpleITK as sitk

from FLRSegmentationLib.research.phantom import make_phantom
from web_browser import Server, chromium, server_env

TOKEN = "flrseg-browser-test-token"
ARTIFACTS = Path(os.environ.get("FLRSEG_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts"))


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """The server's --data-root: the phantom CT, and beside the root a file a link inside points to."""
    base = tmp_path_factory.mktemp("web-data")
    root = base / "root"
    root.mkdir()
    sitk.WriteImage(make_phantom(3)[0], str(root / "phantom.nrrd"))
    sitk.WriteImage(make_phantom(4)[0], str(base / "outside.nrrd"))
    (root / "outside link.nrrd").symlink_to(base / "outside.nrrd")
    return root


@pytest.fixture(scope="module")
def server(data_root, tmp_path_factory):
    """`flrseg serve --open phantom.nrrd` with a token; its temporary folder (the session's parent) is `tmp`."""
    tmp = tmp_path_factory.mktemp("web-tmp")
    running = Server(["--open", str(data_root / "phantom.nrrd"), "--data-root", str(data_root)],
                     tmp.parent / "web-server.log", server_env(tmp, FLRSEG_TOKEN=TOKEN))
    running.tmp, running.token = tmp, TOKEN
    running.ready_s = running.wait_ready(f"{running.base}/?token={TOKEN}")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where the browser tests leave their screenshot, for CI to keep (Testing/artifacts/, git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("web-downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    driver = chromium(downloads)
    yield driver
    driver.quit()
