"""The module's process runner with real subprocesses: progress, crashes, and cancelling a whole process tree."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from FLRSegmentationLib.inference.progress import format_progress_line
from FLRSegmentationModuleLib.process_runner import (EngineOptions, FinishedEvent, LogEvent, ProcessRun,
                                                     ProgressEvent, RunStatus, engine_command, private_work_dir,
                                                     start_engine)


def run_script(tmp_path: Path, source: str) -> ProcessRun:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    return ProcessRun([sys.executable, str(script)], private_work_dir())


def events_until_finished(run: ProcessRun, timeout: float = 20.0) -> list:
    events, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        events += run.poll()
        if events and isinstance(events[-1], FinishedEvent):
            return events
        time.sleep(0.02)
    run.cancel()
    pytest.fail(f"the process did not finish in {timeout} s")


def test_progress_lines_become_progress_events_and_other_lines_log(tmp_path):
    lines = [format_progress_line("liver", 0.25, "stage 1"), "plain output",
             format_progress_line("done", 1.0, "written")]
    run = run_script(tmp_path, f"""
        import sys
        for line in {lines!r}:
            print(line)
        print("a warning", file=sys.stderr)
        """)
    events = events_until_finished(run)
    assert [e for e in events if isinstance(e, ProgressEvent)] == [
        ProgressEvent("liver", 0.25, "stage 1"), ProgressEvent("done", 1.0, "written")]
    assert LogEvent("stdout", "plain output") in events
    assert LogEvent("stderr", "a warning") in events
    assert events[-1].status is RunStatus.SUCCEEDED
    assert run.work_dir.is_dir()  # kept for loading the outputs, until the caller removes it
    assert run.work_dir.stat().st_mode & 0o777 == 0o700
    run.remove_work_dir()
    assert not run.work_dir.exists()


def test_crash_is_an_error_with_the_last_stderr_line_and_removes_the_folder(tmp_path):
    run = run_script(tmp_path, """
        import sys
        print("flrseg: loading", file=sys.stderr)
        raise SystemExit("flrseg: error: input.nrrd is a 2D image; give a 3D CT")
        """)
    finished = events_until_finished(run)[-1]
    assert finished.status is RunStatus.FAILED
    assert finished.message == "flrseg: error: input.nrrd is a 2D image; give a 3D CT"
    assert "flrseg: loading" in finished.details and finished.message in finished.details
    assert not run.work_dir.exists()


def test_silent_crash_names_the_exit_code(tmp_path):
    run = run_script(tmp_path, "import os; os._exit(3)")
    finished = events_until_finished(run)[-1]
    assert finished.status is RunStatus.FAILED and "exit code 3" in finished.message


def test_cancel_ends_children_and_grandchildren_and_removes_temporary_files(tmp_path):
    grandchild = "import time; time.sleep(120)"
    child = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {grandchild!r}]); time.sleep(120)"
    run = run_script(tmp_path, f"""
        import subprocess, sys, time, tempfile
        open(tempfile.gettempdir() + "/engine-scratch.bin", "wb").write(b"patient data")
        subprocess.Popen([sys.executable, "-c", {child!r}])
        print("started", flush=True)
        time.sleep(120)
        """)
    root = psutil.Process(run.process.pid)
    deadline = time.monotonic() + 20
    while len(root.children(recursive=True)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    tree = [root] + root.children(recursive=True)
    assert len(tree) == 3, "the script should have started a child and a grandchild"
    assert (run.work_dir / "engine-scratch.bin").is_file()  # TMPDIR points into the private folder

    finished = run.cancel()

    assert finished.status is RunStatus.CANCELLED and run.status is RunStatus.CANCELLED
    survivors = [p.pid for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert survivors == []
    assert not run.work_dir.exists()
    assert run.poll() == []  # nothing more after a cancel


def test_engine_command_carries_the_options():
    command = engine_command("python", Path("in.nrrd"), Path("out"), EngineOptions("demo-phantom", "e2e", "cpu", True))
    assert command[:4] == ["python", "-m", "FLRSegmentationLib.cli", "segment"]
    for pair in (["-o", "out"], ["--progress", "lines"], ["--model", "demo-phantom"], ["--strategy", "e2e"],
                 ["--device", "cpu"]):
        assert command[command.index(pair[0]) + 1] == pair[1]
    assert command[-1] == "--fast"
    assert "--fast" not in engine_command("python", Path("in"), Path("out"), EngineOptions("m"))


def test_real_engine_bad_input_surfaces_its_one_line_message():
    """The real engine started the module's way: a file that is not a CT ends as a one-line error, no traceback."""

    def write_input(folder: Path) -> Path:
        folder.mkdir()
        path = folder / "volume.nrrd"
        path.write_text("not an image")
        return path

    run, output_dir = start_engine(sys.executable, write_input, EngineOptions("demo-phantom", device="cpu"))
    finished = events_until_finished(run, timeout=60)[-1]
    assert finished.status is RunStatus.FAILED
    assert finished.message.startswith("flrseg: error:") and "volume.nrrd" in finished.message
    assert "Traceback" not in finished.details
    assert not run.work_dir.exists() and not output_dir.exists()


def test_real_engine_run_on_a_phantom_reports_progress_and_writes_outputs(demo_package):
    from FLRSegmentationLib.research.phantom import make_phantom
    import SimpleITK as sitk

    def write_input(folder: Path) -> Path:
        folder.mkdir()
        path = folder / "phantom.nii.gz"
        sitk.WriteImage(make_phantom(3)[0], str(path))
        return path

    run, output_dir = start_engine(sys.executable, write_input, EngineOptions("demo-phantom", device="cpu", fast=True))
    events = events_until_finished(run, timeout=300)
    assert events[-1].status is RunStatus.SUCCEEDED, events[-1].details
    fractions = [e.fraction for e in events if isinstance(e, ProgressEvent)]
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {p.name for p in output_dir.iterdir()} >= {"phantom.seg.nrrd", "phantom_report.json"}
    run.remove_work_dir()
