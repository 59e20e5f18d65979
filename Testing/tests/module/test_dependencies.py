"""Dependency checks against this Python's real installed packages, and which Slicer installer gets called.

The Slicer application is not available here, so the installers are recorded by small stand-ins with the same
call signatures as `slicer.packaging` (5.12+) and `slicer.util` (older).
"""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from FLRSegmentationModuleLib import dependencies
from FLRSegmentationModuleLib.dependencies import (DependencyError, install_instructions, install_requirements,
                                                   missing_requirements, read_requirements)


def test_shipped_requirements_parse_and_leave_torch_to_the_pytorch_extension():
    names = {r.name.lower() for r in read_requirements()}
    assert {"nnunetv2", "simpleitk", "numpy", "scipy", "pynrrd", "pydicom", "psutil"} <= names
    assert not names & {"torch", "torchvision"}
    assert missing_requirements() == []  # this test environment has everything the engine needs


def test_missing_and_wrong_versions_are_named(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("psutil>=1  # present\nno-such-package-flrseg==1.0\nnumpy<1\n")
    missing = missing_requirements(path)
    assert missing[0] == "no-such-package-flrseg==1.0"
    assert missing[1].startswith("numpy<1 (installed: ")
    assert len(missing) == 2


def test_bad_requirement_line_is_one_message(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("this is not a requirement\n")
    with pytest.raises(DependencyError, match="bad requirement"):
        read_requirements(path)


def test_pip_ensure_is_used_where_slicer_has_it(tmp_path):
    calls = []
    packaging = SimpleNamespace(
        load_requirements=lambda path: ["loaded " + path],
        pip_ensure=lambda requirements, **kwargs: calls.append((requirements, kwargs)))
    install_requirements(SimpleNamespace(packaging=packaging), tmp_path / "r.txt")
    assert calls == [(["loaded " + str(tmp_path / "r.txt")],
                      {"skip_packages": ["torch", "torchvision"], "requester": "FLR Segmentation"})]


def test_pip_install_on_older_slicer(tmp_path):
    calls = []
    old_slicer = SimpleNamespace(util=SimpleNamespace(pip_install=calls.append))
    install_requirements(old_slicer, tmp_path / "r.txt")
    assert calls == [["-r", str(tmp_path / "r.txt")]]


def test_offline_install_failure_says_what_to_install_and_how(tmp_path, monkeypatch):
    path = tmp_path / "requirements.txt"
    path.write_text("no-such-package-flrseg==1.0\n")
    monkeypatch.setattr(dependencies, "torch_missing", lambda: False)

    def pip_install(args):
        raise subprocess.CalledProcessError(1, ["pip", "install"], "Could not find a version (no network)")

    with pytest.raises(DependencyError) as error:
        dependencies.install_missing(SimpleNamespace(util=SimpleNamespace(pip_install=pip_install)), path)
    message = str(error.value)
    assert "no-such-package-flrseg==1.0" in message and "PythonSlicer -m pip install -r" in message
    assert "\n" not in message


def test_torch_without_the_pytorch_extension_names_the_extension():
    text = install_instructions(["torch", "nnunetv2==2.8.1"])
    assert "'PyTorch' extension" in text and "nnunetv2==2.8.1" in text
    with pytest.raises(DependencyError, match="PyTorch' extension"):
        dependencies.install_torch()  # no PyTorchUtils module outside Slicer
