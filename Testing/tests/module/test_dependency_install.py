"""Which installer Slicer's Python gets, and that it never replaces a package Slicer ships (nor torch).

`slicer.packaging` (pip_ensure, Slicer 5.11+) is a submodule that Slicer's slicer/__init__.py does not import
(Base/Python/slicer/__init__.py, v5.12.0), so `getattr(slicer, "packaging", None)` is None even where it exists.
The stand-ins here are real packages laid out the same way: an __init__.py that imports nothing, a util.py with
pip_install (5.10's Base/Python/slicer/util.py) and, for 5.12, a packaging.py with load_requirements and
pip_ensure taking the keyword arguments Slicer's have.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from importlib import metadata

import pytest

from FLRSegmentationModuleLib import dependencies
from FLRSegmentationModuleLib.dependencies import SLICER_PACKAGES, install_requirements, kept_packages
from slicer_sources import BUNDLED_PACKAGES

UTIL = """
calls = []


def pip_install(requirements):
    calls.append(("pip_install", requirements, open(requirements[-1]).read()))
"""
PACKAGING = """
from . import util


def load_requirements(path):
    return ["loaded " + path]


def pip_ensure(requirements, constraints=None, skip_packages=None, prompt_install=True, prompt_restart=True,
               requester=None, skip_in_testing=True, show_progress=True):
    util.calls.append(("pip_ensure", requirements, open(constraints).read(), skip_packages, requester))
"""


@pytest.fixture
def stand_in_slicer(tmp_path, monkeypatch):
    """make(name, with_packaging) -> an imported stand-in `slicer` package (its util imported, as the app does)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    made = []

    def make(name: str, with_packaging: bool):
        package = tmp_path / name
        package.mkdir()
        (package / "__init__.py").write_text('"""imports none of its submodules, like Slicer\'s"""\n')
        (package / "util.py").write_text(textwrap.dedent(UTIL))
        if with_packaging:
            (package / "packaging.py").write_text(textwrap.dedent(PACKAGING))
        made.append(name)
        module = importlib.import_module(name)
        importlib.import_module(f"{name}.util")
        return module

    yield make
    for name in made:
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]


def test_slicer_512_installs_through_pip_ensure_although_slicer_does_not_import_it(stand_in_slicer, tmp_path):
    slicer = stand_in_slicer("slicer_512", with_packaging=True)
    assert getattr(slicer, "packaging", None) is None  # what the module once looked for
    install_requirements(slicer, tmp_path / "requirements.txt")
    [(kind, requirements, constraints, skip, requester)] = slicer.util.calls
    assert kind == "pip_ensure" and requirements == ["loaded " + str(tmp_path / "requirements.txt")]
    assert constraints.split() == kept_packages() and skip == ["torch", "torchvision"]
    assert requester == "FLR Segmentation"


def test_slicer_510_installs_through_pip_install_with_the_same_constraints(stand_in_slicer, tmp_path):
    slicer = stand_in_slicer("slicer_510", with_packaging=False)
    install_requirements(slicer, tmp_path / "requirements.txt")
    [(kind, arguments, constraints)] = slicer.util.calls
    assert kind == "pip_install" and arguments[:3] == ["-r", str(tmp_path / "requirements.txt"), "-c"]
    assert constraints.split() == kept_packages()
    assert not (tmp_path / "keep-slicer-packages.txt").exists()  # the constraints file is temporary


def test_constraints_pin_each_installed_slicer_package_and_torch_at_its_version():
    kept = dict(line.split("==") for line in kept_packages())
    for name in ("numpy", "scipy", "pydicom", "simpleitk", "requests", "torch"):
        assert kept[name] == metadata.version(name), name
    assert "nnunetv2" not in kept and "pynrrd" not in kept  # ours to install


def test_the_kept_packages_are_every_one_slicer_bundles():
    bundled = {name for packages in BUNDLED_PACKAGES.values() for name in packages}
    assert bundled == set(SLICER_PACKAGES)


def test_offline_install_failure_says_what_to_install_and_how(stand_in_slicer, tmp_path, monkeypatch):
    path = tmp_path / "requirements.txt"
    path.write_text("no-such-package-flrseg==1.0\n")
    monkeypatch.setattr(dependencies, "torch_missing", lambda: False)
    slicer = stand_in_slicer("slicer_offline", with_packaging=False)

    def pip_install(args):
        raise subprocess.CalledProcessError(1, ["pip", "install"], "Could not find a version (no network)")

    monkeypatch.setattr(slicer.util, "pip_install", pip_install)
    with pytest.raises(dependencies.DependencyError) as error:
        dependencies.install_missing(slicer, path)
    message = str(error.value)
    assert "no-such-package-flrseg==1.0" in message and "PythonSlicer -m pip install -r" in message
    assert "\n" not in message
