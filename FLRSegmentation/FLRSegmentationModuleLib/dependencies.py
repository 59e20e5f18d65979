"""What the engine needs in Slicer's Python, and installing it on first use.

torch comes from the PyTorch extension (its installer picks the CUDA build that fits the GPU); everything else is
pinned in Resources/requirements.txt and goes through `slicer.packaging.pip_ensure` (Slicer 5.12+) or
`slicer.util.pip_install`. Functions that need the application take the `slicer` module as an argument, so this
file imports without it.
"""

from __future__ import annotations

import importlib.util
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from FLRSegmentationLib.errors import FLRSegError

REQUIREMENTS_FILE = Path(__file__).resolve().parents[1] / "Resources" / "requirements.txt"
TORCH_PACKAGES = ("torch", "torchvision")
REQUESTER = "FLR Segmentation"


class DependencyError(FLRSegError):
    """Something the engine needs is missing and could not be installed."""


def read_requirements(path: Path = REQUIREMENTS_FILE) -> list[Requirement]:
    requirements = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            try:
                requirements.append(Requirement(line))
            except InvalidRequirement as exc:
                raise DependencyError(f"{path.name}: bad requirement '{line}' ({exc})") from None
    return requirements


def missing_requirements(path: Path = REQUIREMENTS_FILE) -> list[str]:
    """The requirements that are not installed, or installed at a version that does not fit."""
    missing = []
    for requirement in read_requirements(path):
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(str(requirement))
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            missing.append(f"{requirement} (installed: {installed})")
    return missing


def torch_missing() -> bool:
    return importlib.util.find_spec("torch") is None


def what_is_missing(path: Path = REQUIREMENTS_FILE) -> list[str]:
    return (["torch"] if torch_missing() else []) + missing_requirements(path)


def install_instructions(missing: list[str], path: Path = REQUIREMENTS_FILE) -> str:
    """How to install by hand, e.g. offline or behind a proxy."""
    steps = []
    if "torch" in missing:
        steps.append("install the 'PyTorch' extension from the Extensions Manager, restart Slicer and press "
                     "'Install PyTorch' in the PyTorch Util module")
    if any(m != "torch" for m in missing):
        steps.append(f"in a terminal run: PythonSlicer -m pip install -r \"{path}\" (or copy the wheels to this "
                     f"computer and add --no-index --find-links WHEEL_FOLDER)")
    return f"Missing: {', '.join(missing)}. To install: " + "; then ".join(steps) + "."


def install_missing(slicer, path: Path = REQUIREMENTS_FILE) -> None:
    """Install torch through the PyTorch extension, then the pinned requirements; DependencyError if anything fails."""
    missing = what_is_missing(path)
    if not missing:
        return
    try:
        if "torch" in missing:
            install_torch()
        if missing_requirements(path):
            install_requirements(slicer, path)
    except DependencyError:
        raise
    except Exception as exc:  # pip and network failures come in many types; the user needs the manual steps
        raise DependencyError(f"Installing failed ({' '.join(str(exc).split()) or type(exc).__name__}). "
                              + install_instructions(missing, path)) from None
    still = what_is_missing(path)
    if still:
        raise DependencyError("Installation did not complete. " + install_instructions(still, path))


def install_torch() -> None:
    try:
        import PyTorchUtils  # the PyTorch extension's module, present in Slicer when that extension is installed
    except ModuleNotFoundError:
        raise DependencyError(install_instructions(["torch"])) from None
    if PyTorchUtils.PyTorchUtilsLogic().installTorch(askConfirmation=True) is None:
        raise DependencyError("PyTorch was not installed (cancelled). " + install_instructions(["torch"]))


def install_requirements(slicer, path: Path = REQUIREMENTS_FILE) -> None:
    """pip_ensure where Slicer has it (confirmation and progress dialog built in), else pip_install."""
    packaging = getattr(slicer, "packaging", None)
    if packaging is not None and hasattr(packaging, "pip_ensure"):
        packaging.pip_ensure(packaging.load_requirements(str(path)), skip_packages=list(TORCH_PACKAGES),
                             requester=REQUESTER)
    else:
        slicer.util.pip_install(["-r", str(path)])
