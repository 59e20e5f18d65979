"""A real Orthanc PACS for tests: its DICOMweb plugin on 127.0.0.1 and a free port, storage in a test folder,
basic authentication on, stopped afterwards. Orthanc 1.10 (Debian) listens on every interface but, with remote
access off, answers only requests from this machine; its DICOM (DIMSE) port stays closed."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
USER, PASSWORD = "flrseg-test", "not-a-real-secret"
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class OrthancServer:
    url: str  # the REST root
    folder: Path

    @property
    def dicomweb(self) -> str:
        return f"{self.url}/dicom-web"

    def credentials_env(self, base: dict) -> dict:
        return {**base, "FLRSEG_DICOMWEB_USER": USER, "FLRSEG_DICOMWEB_PASSWORD": PASSWORD}

    def rest(self, method: str, path: str, **kwargs):
        answer = requests.request(method, f"{self.url}{path}", auth=(USER, PASSWORD), timeout=60, **kwargs)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def upload(self, paths) -> None:
        for path in paths:
            self.rest("POST", "/instances", data=Path(path).read_bytes())

    def client(self):
        from dicomweb_client.api import DICOMwebClient

        session = requests.Session()
        session.auth = (USER, PASSWORD)
        return DICOMwebClient(self.dicomweb, session=session)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_orthanc(folder: Path, lua: str | None = None):
    """Orthanc in folder (config, storage, log), optionally with a Lua script (e.g. a ReceivedInstanceFilter)."""
    executable = shutil.which("Orthanc")
    assert executable and PLUGIN.is_file(), \
        "Orthanc is missing: apt-get install orthanc orthanc-dicomweb (setup.sh does where it runs as root)"
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = {"Name": "FLRSEG-TEST", "StorageDirectory": str(folder / "db"), "IndexDirectory": str(folder / "db"),
              "HttpPort": port, "DicomServerEnabled": False, "RemoteAccessAllowed": False,
              "AuthenticationEnabled": True, "RegisteredUsers": {USER: PASSWORD}, "Plugins": [str(PLUGIN)],
              "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}, "StableAge": 1}
    if lua:
        (folder / "filter.lua").write_text(lua)
        config["LuaScripts"] = [str(folder / "filter.lua")]
    (folder / "orthanc.json").write_text(json.dumps(config))
    log = (folder / "orthanc.log").open("w")
    process = subprocess.Popen([executable, str(folder / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT)
    server = OrthancServer(f"http://127.0.0.1:{port}", folder)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert process.poll() is None, f"Orthanc exited at start: {(folder / 'orthanc.log').read_text()[-2000:]}"
            try:
                server.rest("GET", "/system")
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "Orthanc did not answer within a minute"
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
