"""Dependency checks against this Python's real installed packages (which installer Slicer's Python gets:
module/test_dependency_install.py)."""

from __future__ import annotations

import pytest

from FLRSegmentationModuleLib import dependencies
from FLRSegmentationModuleLib.dependencies import (DependencyError, install_instructions, missing_requirements,
                                                   read_requirements)


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


def test_torch_without_the_pytorch_extension_names_the_extension():
    text = install_instructions(["torch", "nnunetv2==2.8.1"])
    assert "'PyTorch' extension" in text and "nnunetv2==2.8.1" in text
    with pytest.raises(DependencyError, match="PyTorch' extension"):
        dependencies.install_torch()  # no PyTorchUtils module outside Slicer
