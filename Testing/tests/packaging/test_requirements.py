"""Resources/requirements.txt never replaces a package Slicer ships, in any Slicer the module claims.

Slicer's own modules (DICOM, for one) are tested with the packages it bundles (slicer_sources.BUNDLED_PACKAGES,
from its SuperBuild/External_python-*.cmake). A requirement naming one of them must be met by every bundled
version, or installing it would replace Slicer's build.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from FLRSegmentationModuleLib.dependencies import read_requirements
from slicer_sources import BUNDLED_PACKAGES

REPO = Path(__file__).resolve().parents[3]


def bundled_conflicts(requirements: list[Requirement], version: str) -> list[str]:
    """The requirements that Slicer `version`'s bundled package does not meet."""
    bundled = {canonicalize_name(name): v for name, v in BUNDLED_PACKAGES[version].items()}
    return [f"{r} (Slicer {version} ships {bundled[canonicalize_name(r.name)]})" for r in requirements
            if canonicalize_name(r.name) in bundled
            and not r.specifier.contains(bundled[canonicalize_name(r.name)], prereleases=True)]


@pytest.mark.parametrize("version", sorted(BUNDLED_PACKAGES))
def test_requirements_accept_every_package_slicer_ships(version):
    assert bundled_conflicts(read_requirements(), version) == []


def test_the_check_catches_a_pin_of_another_version():
    """What requirements.txt once held: pins that replace Slicer 5.10's pydicom 2.4.4 and scipy 1.13.1."""
    pinned = [Requirement("pydicom==3.0.2"), Requirement("scipy==1.17.1"), Requirement("nnunetv2==2.8.1")]
    assert [c.split()[0] for c in bundled_conflicts(pinned, "5.10.0")] == ["pydicom==3.0.2", "scipy==1.17.1"]


def test_no_slicer_package_is_pinned_to_one_version():
    bundled = {canonicalize_name(name) for packages in BUNDLED_PACKAGES.values() for name in packages}
    pinned = [str(r) for r in read_requirements() if canonicalize_name(r.name) in bundled
              and any(s.operator in ("==", "===") for s in r.specifier)]
    assert pinned == []


def test_what_slicer_lacks_is_pinned_to_the_tested_version():
    pyproject = (REPO / "pyproject.toml").read_text()
    own = {canonicalize_name(r.name): r for r in read_requirements()}
    for name in ("nnunetv2", "pynrrd", "psutil"):
        assert name in own and not any(name == canonicalize_name(n) for v in BUNDLED_PACKAGES.values() for n in v)
    assert f'"nnunetv2{own["nnunetv2"].specifier}"' in pyproject  # the version the test suite runs with
