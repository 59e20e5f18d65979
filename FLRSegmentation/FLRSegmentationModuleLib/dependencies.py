"""What the engine needs in Slicer's Python, and installing it on first use.

torch comes from the PyTorch extension (its installer picks the CUDA build that fits the GPU); everything else is
in Resources/requirements.txt and goes through `slicer.packaging.pip_ensure` (Slicer 5.11+) or
`slicer.util.pip_install`. Installing never replaces a package Slicer ships, nor torch: pip gets their installed
versions as constraints, so a requirement that would need another version fails with pip's message instead.
Functions that need the application take the `slicer` module as an argument, so this file imports without it.
"""

from __future__ import annotations

import importlib
import importlib.util
import tempfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from FLRSegmentationLib.errors import FLRSegError

REQUIREMENTS_FILE = Path(__file__).resolve().parents[1] / "Resources" / "requirements.txt"
TORCH_PACKAGES = ("torch", "torchvision")
REQUESTER = "FLR Segmentation"
# The Python packages Slicer 5.10 and 5.12 bundle (the requirements of Slicer's SuperBuild/External_python-*.cmake,
# and SimpleITK): Slicer's own modules are tested with exactly these builds.
SLICER_PACKAGES = (
    "certifi", "cffi", "chardet", "charset-normalizer", "couchdb", "cryptography", "dcmqi", "deprecated",
    "dicomweb-client", "gitdb", "gitpython", "highdicom", "idna", "numpy", "packaging", "pillow", "pip", "pycparser",
    "pydicom", "pygithub", "pyjpegls", "pyjwt", "pynacl", "pyparsing", "python-dateutil", "requests", "retrying",
    "scipy", "setuptools", "simpleitk", "six", "smmap", "typing-extensions", "urllib3", "wheel", "wrapt")


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


def kept_packages() -> list[str]:
    """`name==version` for each installed package that installing must leave as it is: Slicer's own and torch."""
    kept = []
    for name in (*SLICER_PACKAGES, *TORCH_PACKAGES):
        try:
            kept.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return kept


def slicer_packaging(slicer):
    """Slicer's `slicer.packaging` module (5.11+), else None. slicer/__init__.py does not import it, so an
    attribute lookup on `slicer` never finds it: it has to be imported."""
    name = f"{slicer.__name__}.packaging"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        return None


def install_requirements(slicer, path: Path = REQUIREMENTS_FILE) -> None:
    """pip_ensure where Slicer has it (confirmation and progress dialog built in), else pip_install; both with
    the kept packages as constraints."""
    packaging = slicer_packaging(slicer)
    with tempfile.TemporaryDirectory(prefix="FLRSegmentation-pip-") as folder:
        constraints = Path(folder) / "keep-slicer-packages.txt"
        constraints.write_text("".join(f"{line}\n" for line in kept_packages()))
        if packaging is not None and hasattr(packaging, "pip_ensure"):
            packaging.pip_ensure(packaging.load_requirements(str(path)), constraints=str(constraints),
                                 skip_packages=list(TORCH_PACKAGES), requester=REQUESTER)
        else:
            slicer.util.pip_install(["-r", str(path), "-c", str(constraints)])
