"""The engine's background process: its own process group (so Cancel ends the tree without psutil, which Slicer
does not ship), no console window on Windows, and Cancel working in a Python that has no psutil at all."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

from FLRSegmentationModuleLib import process_runner
from FLRSegmentationModuleLib.process_runner import ProcessRun, background_options, private_work_dir

MODULE = Path(__file__).resolve().parents[3] / "FLRSegmentation"


def test_windows_processes_start_with_their_console_hidden():
    """The flags slicer.util.launchConsoleProcess (Base/Python/slicer/util.py, v5.10.0) sets: dwFlags 1
    (STARTF_USESHOWWINDOW) and wShowWindow 0 (SW_HIDE); Windows' values, as Python's subprocess names them."""

    class StartupInfo:
        def __init__(self):
            self.dwFlags, self.wShowWindow = 0, 1  # Windows' defaults: no flags, SW_SHOWNORMAL

    windows = SimpleNamespace(STARTUPINFO=StartupInfo, STARTF_USESHOWWINDOW=1, SW_HIDE=0)
    options = background_options("nt", windows)
    assert options["startupinfo"].dwFlags & 1 and options["startupinfo"].wShowWindow == 0
    assert background_options("posix") == {"start_new_session": True}


def test_cancel_on_windows_ends_the_tree_with_taskkill(monkeypatch):
    calls = []
    monkeypatch.setattr(process_runner, "background_options", lambda platform=os.name: {})
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: calls.append(command))
    process = SimpleNamespace(pid=4242, wait=lambda: 0)
    process_runner.kill_process_tree(process, platform="nt")
    assert calls == [["taskkill", "/PID", "4242", "/T", "/F"]]


def test_the_engine_runs_in_a_process_group_of_its_own(tmp_path):
    script = tmp_path / "wait.py"
    script.write_text("import time; print('ready', flush=True); time.sleep(60)")
    run = ProcessRun([sys.executable, str(script)], private_work_dir())
    try:
        assert os.getpgid(run.process.pid) == run.process.pid != os.getpgrp()
    finally:
        run.cancel()
    assert run.process.poll() is not None


def test_cancel_ends_the_tree_in_a_python_without_psutil(tmp_path):
    """As in a fresh Slicer before the dependency installer ran: psutil can't be imported, Cancel still works."""
    grandchild = tmp_path / "grandchild.pid"
    check = tmp_path / "check.py"
    check.write_text(textwrap.dedent(f"""
        import os, sys, time
        sys.modules["psutil"] = None  # importing psutil now raises ImportError
        from FLRSegmentationModuleLib.process_runner import ProcessRun, private_work_dir
        child = ("import os, subprocess, sys, time; "
                 "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
                 "open({str(grandchild)!r}, 'w').write(str(p.pid)); time.sleep(60)")
        run = ProcessRun([sys.executable, "-c", child], private_work_dir())
        deadline = time.monotonic() + 20
        while not os.path.exists({str(grandchild)!r}) and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int(open({str(grandchild)!r}).read())
        finished = run.cancel()
        time.sleep(0.5)
        try:
            os.kill(pid, 0)
            state = open(f"/proc/{{pid}}/stat").read().split()[2]  # Z: ended, not yet reaped by init
        except (ProcessLookupError, FileNotFoundError):
            state = "gone"
        print(finished.status.value, state, run.work_dir.exists())
        """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(MODULE), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(check)], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    status, state, folder_left = done.stdout.split()
    assert status == "cancelled" and state in ("gone", "Z") and folder_left == "False"
