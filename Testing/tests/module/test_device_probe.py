"""The device check: once, in a separate Python, never importing torch in Slicer's GUI process, and a broken
PyTorch (an OSError from a library that does not load, as on Windows) reported as a note instead of raised."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

from FLRSegmentationModuleLib.device_probe import DeviceProbe, run_probe

MODULE = Path(__file__).resolve().parents[3] / "FLRSegmentation"
BROKEN = 'raise OSError("[WinError 126] The specified module could not be found: c10.dll")'
MISSING = 'raise ModuleNotFoundError("No module named \'torch\'", name="torch")'
CRASH = "import os; os._exit(3)"


@pytest.fixture
def fake_torch(tmp_path, monkeypatch):
    """fake_torch(source): a `torch` package ahead of the real one for every Python started from now on."""

    def make(source: str) -> Path:
        (tmp_path / "torch").mkdir()
        (tmp_path / "torch" / "__init__.py").write_text(source + "\n")
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
        return tmp_path

    return make


def test_the_real_pytorch_here_sees_no_gpu():
    report = run_probe(sys.executable)
    assert report.problem == "" and report.cuda is False  # this machine has no GPU
    assert report.torch_version.split("+")[0] == metadata.version("torch").split("+")[0]


def test_a_broken_pytorch_is_a_report_not_an_exception(fake_torch):
    fake_torch(BROKEN)
    report = run_probe(sys.executable)
    assert report.cuda is None and report.problem.startswith("OSError: [WinError 126]")


def test_no_pytorch_is_not_a_problem(fake_torch):
    fake_torch(MISSING)
    report = run_probe(sys.executable)
    assert report.cuda is None and report.problem == ""


def test_a_crashing_check_names_its_exit_code(fake_torch):
    fake_torch(CRASH)
    assert "exit code 3" in run_probe(sys.executable).problem


def test_the_probe_runs_once_in_the_background():
    probe = DeviceProbe(sys.executable)
    assert probe.known is None and not probe.running
    assert probe.report() is None and probe.running  # asked; the answer comes later
    report = probe.wait()
    assert report is not None and probe.report() is report and not probe.running
    probe.restart()
    assert probe.known is None


GUI = """
    import sys
    from pathlib import Path
    from FLRSegmentationModuleLib.module_logic import ModuleLogic
    from FLRSegmentationModuleLib.module_settings import ModuleSettings
    logic = ModuleLogic(Path({module!r}), ModuleSettings(Path({settings!r})), python=sys.executable)
    first = logic.device_note("auto", None, "demo-phantom", False)
    imported_here = "torch" in sys.modules
    logic.devices.wait()
    print(repr((first, imported_here, logic.device_note("auto", None, "demo-phantom", False))))
"""


def gui_device_notes(tmp_path) -> tuple[str, bool, str]:
    """The logic's device notes in a fresh process, as in Slicer: the first at once, the second once answered."""
    script = tmp_path / "gui.py"
    script.write_text(textwrap.dedent(GUI.format(module=str(MODULE), settings=str(tmp_path / "settings.json"))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(MODULE)]))}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return eval(done.stdout.strip().splitlines()[-1])


def test_the_gui_process_never_imports_torch_and_gets_the_answer_later(tmp_path):
    first, imported_here, later = gui_device_notes(tmp_path)
    assert first == "Checking whether PyTorch sees a GPU..."
    assert imported_here is False
    assert later.startswith("Runs on the CPU")  # no GPU here


def test_a_broken_pytorch_becomes_the_device_note(tmp_path, fake_torch):
    fake_torch(BROKEN)
    _, imported_here, later = gui_device_notes(tmp_path)
    assert not imported_here
    assert later.startswith("PyTorch does not load in Slicer's Python (OSError: [WinError 126]")
    assert "PyTorch Util" in later
