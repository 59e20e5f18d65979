"""Drive `flrseg serve` as a user does: the server as a child process, a real headless Chromium through selenium.

Shared by Testing/tests/web and Testing/benchmark_web.py. Chromium's own --screenshot fires before the websocket
app has drawn anything, so pages are waited on: the views are streamed as JPEG <img> with blob: sources, and a
view has drawn once its image is complete; after an edit, its source changes.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

BLOB_IMAGES = ("return Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0"
               " && i.src.startsWith('blob:'))")
VIEWS = 3  # axial, 3D, coronal


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


def http_get(url: str, cookie: str | None = None):
    """(status, headers) of a GET that follows no redirect; (0, {}) while nothing listens."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=5) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers
    except (urllib.error.URLError, ConnectionError):
        return 0, {}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    """`python -m FLRSegmentationLib.cli serve ...` in a session of its own, with its output in a log file."""

    def __init__(self, args: list[str], log: Path, env: dict, port: int | None = None):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = Path(log)
        self.started = time.monotonic()
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "FLRSegmentationLib.cli", "serve", "--port",
                                             str(self.port), *args], stdout=out, stderr=subprocess.STDOUT, env=env,
                                            start_new_session=True)

    def wait_ready(self, url: str, timeout_s: float = 90.0) -> float:
        """Seconds from spawn until `url` answers with a redirect (GET / answers 302 once trame serves)."""
        while http_get(url)[0] != 302:
            assert self.process.poll() is None, f"the server ended: {self.output()[-3000:]}"
            assert time.monotonic() - self.started < timeout_s, f"not serving in {timeout_s} s: {self.output()[-3000:]}"
            time.sleep(0.2)
        return time.monotonic() - self.started

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, as a service manager or trame's launcher ends it; returns the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def server_env(tmp: Path, **extra) -> dict:
    """The test's environment for a server: this checkout's packages first, its temporary folder under tmp."""
    repo_packages = Path(__file__).resolve().parents[3] / "FLRSegmentation"
    env = {key: value for key, value in os.environ.items() if key != "FLRSEG_TOKEN"}  # only the test's own token
    env.update(TMPDIR=str(tmp), **extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo_packages), os.environ.get("PYTHONPATH")]))
    return env


def chromium(download_dir: Path, size=(1400, 900)):
    """Headless Chromium with Debian's chromedriver (no Selenium Manager download); files download to download_dir."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
    assert binary and driver, ("headless Chromium is missing: apt-get install chromium chromium-driver "
                               "(setup.sh does it when run as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--no-first-run", f"--window-size={size[0]},{size[1]}"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                              "download.prompt_for_download": False})
    return webdriver.Chrome(service=Service(driver), options=options)


def wait_for(predicate, timeout_s: float = 60.0, step_s: float = 0.1, what: str = "the page"):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step_s)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


def drawn_views(browser, count: int = VIEWS):
    """The streamed views once at least `count` have drawn, largest first (the axial view in our layout)."""
    def ready():
        images = browser.execute_script(BLOB_IMAGES)
        return images if len(images) >= count else None

    images = wait_for(ready, what=f"{count} drawn views")
    return sorted(images, key=lambda image: -image.size["width"] * image.size["height"])


def stroke(browser, view, start_dx: int, end_dx: int, dy: int = 0, step: int = 20) -> None:
    """A brush stroke across `view`, offsets in CSS pixels from the image's centre (real pointer events)."""
    from selenium.webdriver.common.action_chains import ActionChains

    chain = ActionChains(browser, duration=50).move_to_element_with_offset(view, start_dx, dy).click_and_hold()
    for dx in range(start_dx + step, end_dx + 1, step):
        chain.move_to_element_with_offset(view, dx, dy)
    chain.release().perform()


def text_of(browser, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.ID, element_id).text


def downloaded(folder: Path, name: str, timeout_s: float = 30.0) -> Path:
    """The file the browser saved under `name` in folder, once complete (Chromium writes .crdownload first)."""
    path = Path(folder) / name
    wait_for(lambda: path.is_file() and not Path(f"{path}.crdownload").exists() and path.stat().st_size > 0,
             timeout_s, what=f"the download {name}")
    return path
