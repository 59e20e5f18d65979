"""Run the engine in a background process without blocking Slicer, and end its whole process tree on cancel.

A reader thread per output stream puts lines on a queue; `poll()`, called from a GUI timer, drains it and
returns events. The process starts in a session of its own (POSIX), so cancel ends it and every descendant by
process group, and without a console window on Windows; neither needs a package Slicer lacks, so Cancel works
before the dependency installer has run. The run owns a private temporary folder (mode 0700) for the exported
input, the outputs and the engine's own temporary files (TMPDIR points there), so cancelling or failing removes
everything the run wrote.
"""

from __future__ import annotations

import enum
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from FLRSegmentationLib.inference.progress import parse_progress_line

ENGINE_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # holds FLRSegmentationLib
TERMINATE_GRACE_SECONDS = 5.0


class RunStatus(enum.Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ProgressEvent:
    stage: str
    fraction: float
    message: str


@dataclass(frozen=True)
class LogEvent:
    stream: str  # "stdout" or "stderr"
    text: str


@dataclass(frozen=True)
class FinishedEvent:
    status: RunStatus
    message: str  # one line for the status label
    details: str = ""  # everything the process wrote on stderr, for the log


@dataclass(frozen=True)
class EngineOptions:
    model: str  # registry id or package path
    strategy: str = "cascade"
    device: str = "auto"
    fast: bool = False


def engine_command(python: str, input_path: Path, output_dir: Path, options: EngineOptions) -> list[str]:
    command = [python, "-m", "FLRSegmentationLib.cli", "segment", str(input_path), "-o", str(output_dir),
               "--progress", "lines", "--model", options.model, "--strategy", options.strategy,
               "--device", options.device]
    return command + ["--fast"] if options.fast else command


class ProcessRun:
    """One background process and its private folder. Not thread-safe: call poll() and cancel() from one thread."""

    def __init__(self, command: list[str], work_dir: Path, env: dict | None = None):
        self.work_dir = Path(work_dir)
        self.status = RunStatus.RUNNING
        self._stderr_lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        env = dict(os.environ if env is None else env)
        env.update({"PYTHONUNBUFFERED": "1", "TMPDIR": str(self.work_dir), "TEMP": str(self.work_dir),
                    "TMP": str(self.work_dir)})
        self.process = subprocess.Popen(command, cwd=self.work_dir, env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        encoding="utf-8", errors="replace", bufsize=1, **background_options())
        self._readers = [threading.Thread(target=self._read, args=(stream, name), daemon=True)
                         for stream, name in ((self.process.stdout, "stdout"), (self.process.stderr, "stderr"))]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, name: str) -> None:
        for line in stream:
            self._queue.put((name, line.rstrip("\r\n")))
        stream.close()

    def poll(self) -> list:
        """Events since the last call; the last one is a FinishedEvent once the process has ended."""
        if self.status is RunStatus.CANCELLED:
            return []  # cancel() already reported the end; late output is of no interest
        events = []
        while True:
            try:
                name, line = self._queue.get_nowait()
            except queue.Empty:
                break
            events.append(self._event(name, line))
        if self.status is RunStatus.RUNNING and self.process.poll() is not None and not self._readers_alive():
            events += self._finish()
        return events

    def _event(self, name: str, line: str):
        if name == "stderr":
            self._stderr_lines.append(line)
            return LogEvent(name, line)
        record = parse_progress_line(line)
        if record is None:
            return LogEvent(name, line)
        return ProgressEvent(str(record["stage"]), float(record["fraction"]), str(record["message"]))

    def _readers_alive(self) -> bool:
        return any(reader.is_alive() for reader in self._readers)

    def _finish(self) -> list:
        """Drain what the readers left, then report how the process ended."""
        events = []
        while not self._queue.empty():
            events.append(self._event(*self._queue.get_nowait()))
        code = self.process.returncode
        details = "\n".join(self._stderr_lines)
        if code == 0:
            self.status = RunStatus.SUCCEEDED
            events.append(FinishedEvent(self.status, "finished", details))
        else:
            self.status = RunStatus.FAILED
            last = next((line.strip() for line in reversed(self._stderr_lines) if line.strip()), "")
            message = last or f"the segmentation process ended with exit code {code} and no message"
            events.append(FinishedEvent(self.status, message, details))
            self.remove_work_dir()
        return events

    def cancel(self) -> FinishedEvent:
        """End the process and all its descendants, then remove the private folder."""
        if self.status is RunStatus.RUNNING:
            kill_process_tree(self.process)
            for reader in self._readers:
                reader.join(timeout=TERMINATE_GRACE_SECONDS)
            self.status = RunStatus.CANCELLED
        self.remove_work_dir()
        return FinishedEvent(RunStatus.CANCELLED, "cancelled", "\n".join(self._stderr_lines))

    def remove_work_dir(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)


def background_options(platform: str = os.name, popen_module=subprocess) -> dict:
    """Popen options for a background process: on Windows no console window (STARTUPINFO with SW_HIDE, as
    slicer.util.launchConsoleProcess starts processes), elsewhere a session and process group of its own."""
    if platform == "nt":
        info = popen_module.STARTUPINFO()
        info.dwFlags |= popen_module.STARTF_USESHOWWINDOW
        info.wShowWindow = popen_module.SW_HIDE
        return {"startupinfo": info}
    return {"start_new_session": True}


def kill_process_tree(process: subprocess.Popen, platform: str = os.name) -> None:
    """End a process started with background_options() and every descendant, then reap it.

    POSIX: SIGTERM to its process group (so the engine removes its files), SIGKILL to what is left after the grace
    period. Windows: `taskkill /T /F` ends the tree.
    """
    if platform == "nt":
        subprocess.run(["taskkill", "/PID", str(process.pid), "/T", "/F"], stdin=subprocess.DEVNULL,
                       capture_output=True, **background_options(platform))
    elif _signal_group(process.pid, signal.SIGTERM):
        deadline = time.monotonic() + TERMINATE_GRACE_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        while time.monotonic() < deadline and _signal_group(process.pid, 0):  # descendants still ending
            time.sleep(0.05)
        _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _signal_group(group: int, number: int) -> bool:
    """Send a signal to a process group; False when no process is left in it."""
    try:
        os.killpg(group, number)
    except (ProcessLookupError, PermissionError):  # EPERM: none left that we may signal (zombies, on macOS)
        return False
    return True


def private_work_dir() -> Path:
    """A new folder only this user can read (mkdtemp makes it 0700), for patient data and results."""
    return Path(tempfile.mkdtemp(prefix="FLRSegmentation-"))


def start_engine(python: str, write_input, options: EngineOptions) -> tuple[ProcessRun, Path]:
    """Export the input with `write_input(folder) -> path`, start the engine on it; returns the run and its output folder.

    The engine's package folder goes first on PYTHONPATH, so the engine that runs is the one next to this module.
    """
    work_dir = private_work_dir()
    try:
        input_path = write_input(work_dir / "input")
        output_dir = work_dir / "output"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ENGINE_PACKAGE_DIR), env.get("PYTHONPATH")]))
        run = ProcessRun(engine_command(python, input_path, output_dir, options), work_dir, env)
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    return run, output_dir


def default_python() -> str:
    """PythonSlicer inside Slicer (the app's own interpreter), else this interpreter."""
    launcher = shutil.which("PythonSlicer")
    return launcher or sys.executable
