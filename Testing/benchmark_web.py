"""Figures of `flrseg serve` on a CT of clinical size: server start, first frame, memory, edit to updated FLR %.

One run: a phantom CT (default 512 x 512 x 200 at 0.7 x 0.7 x 1.25 mm, seed 7, as benchmark_cascade.py) opened
with `--open`, a headless Chromium on the page, Run with the demo cascade (Fast, on the CPU), then brush strokes
into FLR, each timed from the end of the stroke until the page shows the new FLR %, and one undo. Memory is the
server's resident set (the scene, the views, the editor) and the engine process's peak, sampled every 0.2 s.
With --no-3d the segment editor's "Show 3D" is turned off before the strokes (no surfaces to rebuild and draw).
Prints one line per figure, then `start_s=... first_frame_s=... rss_mb=... edit_s=...`.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests" / "helpers"))

from FLRSegmentationLib.research.phantom import clinical_grid, make_phantom  # noqa: E402
from web_browser import Server, chromium, drawn_views, rss_mb, server_env, stroke, text_of, wait_for  # noqa: E402


SHOW_3D_STATE = "SegmentEditorState__segment_display__SegmentDisplayState__show_3d"  # trame-slicer's state name


def flr_percent(browser) -> float | None:
    match = re.search(r"FLR (\d+\.\d+) %", text_of(browser, "flr-percent"))
    return float(match.group(1)) if match else None


def changed_from(browser, old: float):
    value = flr_percent(browser)
    return value if value is not None and value != old else None


class PeakChildRss:
    """The largest resident set any child of `pid` reached while this runs (the engine's process tree)."""

    def __init__(self, pid: int):
        self.parent, self.peak_mb, self._stop = psutil.Process(pid), 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            try:
                total = sum(c.memory_info().rss for c in self.parent.children(recursive=True))
            except psutil.NoSuchProcess:
                continue
            self.peak_mb = max(self.peak_mb, total / 2**20)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=3, default=[512, 512, 200], help="phantom voxels x y z")
    parser.add_argument("--spacing", type=float, nargs=3, default=[0.7, 0.7, 1.25], help="phantom mm x y z")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--strokes", type=int, default=5)
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--no-3d", action="store_true", help="strokes with the editor's Show 3D off")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="flrseg-benchmark-web-") as folder:
        folder = Path(folder)
        ct_path = folder / "phantom.nrrd"
        ct, _ = make_phantom(args.seed, grid=clinical_grid(tuple(args.size), tuple(args.spacing)))
        sitk.WriteImage(sitk.Cast(ct, sitk.sitkInt16), str(ct_path))
        del ct
        (folder / "tmp").mkdir()
        server = Server(["--open", str(ct_path)], folder / "server.log", server_env(folder / "tmp"))
        browser = None
        try:
            start_s = server.wait_ready(f"{server.base}/", timeout_s=300)
            rss_start = rss_mb(server.process.pid)
            print(f"server start (spawn to serving, CT loaded): {start_s:.1f} s, RSS {rss_start:.0f} MB")
            browser = chromium(folder)
            began = time.monotonic()
            browser.get(f"{server.base}/")
            drawn_views(browser)
            first_frame_s = time.monotonic() - began
            rss_frame = rss_mb(server.process.pid)
            print(f"first frame (3 views drawn after the page was asked for): {first_frame_s:.1f} s, "
                  f"server RSS {rss_frame:.0f} MB")

            browser.find_element("css selector", "#flr-fast").click()
            browser.execute_script(f"trame.state.set('flr_device', '{args.device}')")
            engine = PeakChildRss(server.process.pid)
            began = time.monotonic()
            browser.find_element("css selector", "#flr-run").click()
            before = wait_for(lambda: flr_percent(browser), 1800, 0.5, "the run's FLR %")
            run_s, engine_mb = time.monotonic() - began, engine.stop()
            rss_result = rss_mb(server.process.pid)
            print(f"Run to FLR % on the page (demo cascade, Fast, {args.device}): {run_s:.1f} s; engine peak RSS "
                  f"{engine_mb:.0f} MB; server RSS with the result {rss_result:.0f} MB")

            axial = drawn_views(browser)[0]
            if args.no_3d:
                browser.execute_script(f"trame.state.set('{SHOW_3D_STATE}', false)")
                time.sleep(2)
            browser.find_element("css selector", "#flr-editor .mdi-brush").click()
            wait_for(lambda: browser.find_elements("css selector", "#flr-editor .v-btn--active .mdi-brush"), 10)
            edits, value = [], before
            for index in range(args.strokes):
                stroke(browser, axial, -150, -30, dy=-60 + 30 * index)
                ended = time.monotonic()
                value = wait_for(lambda: changed_from(browser, value), 60, 0.02, "FLR % after a stroke")
                edits.append(time.monotonic() - ended)
            print(f"stroke end to updated FLR % ({args.strokes} strokes): median {statistics.median(edits):.2f} s, "
                  f"max {max(edits):.2f} s (FLR {before:.2f} -> {value:.2f} %)")
            browser.find_element("css selector", "#flr-undo-redo .mdi-undo").click()
            began = time.monotonic()
            wait_for(lambda: changed_from(browser, value), 60, 0.02, "FLR % after undo")
            undo_s = time.monotonic() - began
            print(f"undo to updated FLR %: {undo_s:.2f} s; server RSS {rss_mb(server.process.pid):.0f} MB")
            print(f"start_s={start_s:.1f} first_frame_s={first_frame_s:.1f} rss_mb={rss_result:.0f} "
                  f"edit_s={statistics.median(edits):.2f}")
        finally:
            if browser is not None:
                browser.quit()
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
