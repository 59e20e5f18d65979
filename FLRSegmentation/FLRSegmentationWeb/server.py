"""Run one planning session: its private folder, headless rendering, trame's options, the token check.

The session owns a private folder (mode 0700) that is the process's temporary folder, so uploads, the engine's
runs (each in a private folder of its own inside it) and trame-slicer's caches all land there; it is removed
when the server stops (Ctrl-C, SIGTERM, or `--timeout` seconds after the last browser left, as under trame's
launcher, which starts one such process per browser session so that two users never share a scene).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from .command import ServeOptions


def run_server(options: ServeOptions) -> int:
    session_dir = Path(tempfile.mkdtemp(prefix="flrseg-serve-"))
    previous_tempdir = tempfile.tempdir
    os.environ["TMPDIR"] = tempfile.tempdir = str(session_dir)
    # trame parses sys.argv itself (an option of ours named like one of its own, e.g. --app, would change its
    # mode); with TRAME_ARGS set it reads only that, which carries the launcher's websocket secret.
    os.environ["TRAME_ARGS"] = f"--authKey {options.auth_key}" if options.auth_key else ""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")  # Mesa or the GPU's EGL, no X
    app = None
    try:
        from .app import PlanningApp

        app = PlanningApp(options, session_dir)
        if options.token:
            from .access import token_middleware

            middleware = token_middleware(options.token, options.port)
            app.server.controller.on_server_bind.add(lambda web_server: web_server.app.middlewares.append(middleware))
        print(f"flrseg serve: session folder {session_dir}", file=sys.stderr, flush=True)
        app.server.start(host=options.host, port=options.port, open_browser=False, timeout=options.timeout)
    finally:
        if app is not None:
            app.close()
        shutil.rmtree(session_dir, ignore_errors=True)
        tempfile.tempdir = previous_tempdir
    return 0
