"""Model downloads in the background over a real localhost HTTP server: progress, sha256, cancel, failure.

The GUI only reads the download's progress and outcome from its timer, so these tests poll the same way.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
import time

import pytest

from FLRSegmentationModuleLib.model_download import BackgroundDownload
from package_folders import make_package, set_entry, zip_folder

SLOW_SIZE = 4 << 20  # 4 MiB sent in 64 KiB pieces, 20 ms apart: about 1.3 s, long enough to cancel midway


def scratch_left(manager) -> list:
    return sorted(p.name for p in manager.models_folder.iterdir()) if manager.models_folder.exists() else []


def test_download_reports_progress_then_installs(manager, registry, tmp_path, http_folder):
    served, base = http_folder
    archive = zip_folder(make_package(tmp_path / "liver-test"), served / "liver-test.zip")
    set_entry(registry, url=f"{base}/liver-test.zip", sha256=hashlib.sha256(archive.read_bytes()).hexdigest())
    download = BackgroundDownload(manager, "liver-test")
    assert download.wait(30)
    assert download.error is None and download.result.installed
    assert download.progress == (archive.stat().st_size, archive.stat().st_size) and download.fraction == 1.0
    assert manager.model("liver-test").installed and scratch_left(manager) == ["liver-test"]


def test_sha256_mismatch_is_refused_and_nothing_kept(manager, registry, tmp_path, http_folder):
    served, base = http_folder
    zip_folder(make_package(tmp_path / "liver-test"), served / "liver-test.zip")
    set_entry(registry, url=f"{base}/liver-test.zip", sha256="ab" * 32)
    download = BackgroundDownload(manager, "liver-test")
    assert download.wait(30)
    assert download.result is None and "fails its sha256 check" in download.error
    assert not manager.model("liver-test").installed and scratch_left(manager) == []


class SlowHandler(http.server.BaseHTTPRequestHandler):
    """Sends SLOW_SIZE bytes slowly, like a large model over a slow link."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(SLOW_SIZE))
        self.end_headers()
        piece = b"x" * (64 << 10)
        try:
            for _ in range(SLOW_SIZE // len(piece)):
                self.wfile.write(piece)
                time.sleep(0.02)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up: the cancel under test

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/big.zip"
    server.shutdown()
    server.server_close()


def test_cancel_midway_stops_the_transfer_and_leaves_no_partial_file(manager, registry, slow_url):
    set_entry(registry, url=slow_url, sha256="cd" * 32)
    download = BackgroundDownload(manager, "liver-test")
    deadline = time.monotonic() + 10
    while download.progress[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert 0 < download.progress[0] < SLOW_SIZE and download.progress[1] == SLOW_SIZE

    started = time.monotonic()
    assert download.cancel()

    assert time.monotonic() - started < 2  # seen at the next block, not at the end of the transfer
    assert download.progress[0] < SLOW_SIZE and download.result is None and "cancelled" in download.error
    assert scratch_left(manager) == [] and not manager.model("liver-test").installed


def test_unreachable_server_says_to_install_from_file(manager, registry, http_folder):
    _, base = http_folder
    set_entry(registry, url=f"{base}/missing.zip")
    download = BackgroundDownload(manager, "liver-test")
    assert download.wait(30)
    assert "Install from file" in download.error and scratch_left(manager) == []
