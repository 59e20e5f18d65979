"""Which device PyTorch sees, asked once in a background process and kept.

Importing torch in Slicer's GUI process freezes the GUI for seconds, and a broken install raises OSError (a DLL or
CUDA library that does not load) rather than ImportError. So the question goes to a separate Python, the one the
engine runs in (`python -m FLRSegmentationModuleLib.device_probe` prints one JSON line), from a worker thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from dataclasses import asdict, dataclass

from .process_runner import ENGINE_PACKAGE_DIR, background_options

PROBE_TIMEOUT_SECONDS = 180


@dataclass(frozen=True)
class DeviceReport:
    cuda: bool | None  # None: PyTorch is not installed, or does not load
    torch_version: str = ""
    problem: str = ""  # why PyTorch does not load, one line; empty when it loads or is simply not installed


def one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())}"[:300]


def probe_here() -> DeviceReport:
    """Import torch in this process and ask it; every failure becomes a report, never an exception."""
    try:
        import torch
    except ModuleNotFoundError as error:
        if error.name == "torch":
            return DeviceReport(None)
        return DeviceReport(None, problem=one_line(error))
    except (ImportError, OSError) as error:
        return DeviceReport(None, problem=one_line(error))
    try:
        return DeviceReport(bool(torch.cuda.is_available()), str(torch.__version__))
    except (RuntimeError, OSError) as error:
        return DeviceReport(False, str(torch.__version__), one_line(error))


def probe_command(python: str) -> list[str]:
    return [python, "-m", "FLRSegmentationModuleLib.device_probe"]


def run_probe(python: str, timeout_s: float = PROBE_TIMEOUT_SECONDS) -> DeviceReport:
    """Ask `python` in a process of its own; a crash, a hang or garbage is a report with the reason."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ENGINE_PACKAGE_DIR), env.get("PYTHONPATH")]))
    try:
        done = subprocess.run(probe_command(python), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              encoding="utf-8", errors="replace", timeout=timeout_s, env=env, **background_options())
    except (OSError, subprocess.SubprocessError) as error:
        return DeviceReport(None, problem=f"the device check could not run ({one_line(error)})")
    lines = done.stdout.strip().splitlines()
    try:
        return DeviceReport(**json.loads(lines[-1]))
    except (IndexError, ValueError, TypeError):
        last = next((line.strip() for line in reversed(done.stderr.splitlines()) if line.strip()), "")
        return DeviceReport(None, problem=f"the device check ended with exit code {done.returncode}"
                                          + (f" ({last[:300]})" if last else ""))


class DeviceProbe:
    """The report of one background run_probe; report() starts it and answers None until it is known."""

    def __init__(self, python: str):
        self.python = python
        self._report: DeviceReport | None = None
        self._thread: threading.Thread | None = None

    def report(self) -> DeviceReport | None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="FLRSegmentation device probe", daemon=True)
            self._thread.start()
        return self._report

    @property
    def known(self) -> DeviceReport | None:
        """The report if there is one, without starting a probe."""
        return self._report

    @property
    def running(self) -> bool:
        return self._thread is not None and self._report is None

    def restart(self) -> None:
        """Ask again on the next report() (e.g. after PyTorch was installed)."""
        if not self.running:
            self._report, self._thread = None, None

    def wait(self, timeout_s: float = PROBE_TIMEOUT_SECONDS) -> DeviceReport | None:
        self.report()
        self._thread.join(timeout_s)
        return self._report

    def _run(self) -> None:
        self._report = run_probe(self.python)


if __name__ == "__main__":
    print(json.dumps(asdict(probe_here())), flush=True)
