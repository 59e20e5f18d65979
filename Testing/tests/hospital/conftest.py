"""Shared by the hospital tests: the dciodvfy validator."""

import shutil
import subprocess

import pytest


@pytest.fixture(scope="session")
def dciodvfy():
    """Check a DICOM file against its IOD with dicom3tools' dciodvfy: the list of its Error lines."""
    tool = shutil.which("dciodvfy")
    assert tool, "dciodvfy is missing: apt-get install dicom3tools (setup.sh does where it runs as root)"

    def errors(path):
        done = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=120)
        return [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("Error")]

    return errors


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory):
    """A real Orthanc with DICOMweb on 127.0.0.1 (free port, temporary storage, basic authentication)."""
    from orthanc_server import running_orthanc

    with running_orthanc(tmp_path_factory.mktemp("orthanc")) as server:
        yield server
