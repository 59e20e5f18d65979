"""`flrseg serve` refuses a bad start in one line (exit 2, nothing started), confines server-side paths to
--data-root and uploads to their folder, and costs the engine's other commands nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from FLRSegmentationLib.errors import InputError
from FLRSegmentationWeb.access import checked_token, is_loopback, resolve_under
from FLRSegmentationWeb.uploads import save_uploads

PACKAGES = Path(__file__).resolve().parents[3] / "FLRSegmentation"
GOOD_TOKEN = "a-long-enough-test-token"


def flrseg(*args, token: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "FLRSEG_TOKEN"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGES), os.environ.get("PYTHONPATH")]))
    if token is not None:
        env["FLRSEG_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "FLRSegmentationLib.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def assert_refused(done: subprocess.CompletedProcess, *fragments: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("flrseg: error: "), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0]


def test_a_public_host_without_a_token_is_refused(tmp_path):
    assert_refused(flrseg("serve", "--host", "0.0.0.0", cwd=tmp_path), "--host 0.0.0.0", "FLRSEG_TOKEN")
    assert_refused(flrseg("serve", "--host", "planning.example.org", cwd=tmp_path), "FLRSEG_TOKEN")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, token, fragment", [
    (["--host", "0.0.0.0"], "short", "shorter than 16"),
    (["--port", "70000"], None, "--port 70000"),
    (["--data-root", "missing-folder"], None, "--data-root missing-folder is not a folder"),
    (["--open", "missing.nii.gz"], None, "missing.nii.gz"),
])
def test_other_bad_starts_are_one_line(tmp_path, args, token, fragment):
    assert_refused(flrseg("serve", *args, token=token, cwd=tmp_path), fragment)


def test_the_engines_cli_loads_without_the_web_app():
    """`flrseg segment` starts as fast as before: building the parser imports no trame, MRML or web app code."""
    check = ("import sys; from FLRSegmentationLib.cli.main import build_parser; "
             "parser = build_parser(); assert 'serve' in parser.format_help(); "
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
             "('trame', 'trame_slicer', 'slicer', 'vtkmodules', 'FLRSegmentationModuleLib', 'aiohttp') "
             "or m in ('FLRSegmentationWeb.app', 'FLRSegmentationWeb.server')); print(heavy); assert not heavy")
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(PACKAGES)))
    assert done.returncode == 0, done.stdout + done.stderr


def test_only_loopback_hosts_go_without_a_token():
    assert [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "127.0.0.2")] == [True] * 4
    assert [is_loopback(h) for h in ("0.0.0.0", "::", "10.1.2.3", "planning")] == [False] * 4
    assert checked_token("127.0.0.1", None) is None
    assert checked_token("0.0.0.0", GOOD_TOKEN) == GOOD_TOKEN
    with pytest.raises(InputError):
        checked_token("127.0.0.1", "short")  # a token that is set must be a real one, on any host


@pytest.fixture
def data_root(tmp_path):
    root = tmp_path / "data"
    (root / "patient 1").mkdir(parents=True)
    (root / "patient 1" / "ct.nrrd").write_text("x")
    (tmp_path / "secret.nrrd").write_text("x")
    (root / "link out.nrrd").symlink_to(tmp_path / "secret.nrrd")
    (root / "link in.nrrd").symlink_to(root / "patient 1" / "ct.nrrd")
    return root


def test_server_paths_resolve_inside_the_data_root_only(data_root):
    assert resolve_under(data_root, "patient 1/ct.nrrd") == (data_root / "patient 1" / "ct.nrrd").resolve()
    assert resolve_under(data_root, " patient 1 ") == (data_root / "patient 1").resolve()
    assert resolve_under(data_root, "link in.nrrd") == (data_root / "patient 1" / "ct.nrrd").resolve()
    for typed, fragment in (("../secret.nrrd", "without '..'"), ("patient 1/../../secret.nrrd", "without '..'"),
                            (str(data_root.parent / "secret.nrrd"), "not starting with '/'"),
                            ("C:\\secret.nrrd", "not starting with '/'"), ("..\\secret.nrrd", "without '..'"),
                            ("link out.nrrd", "outside the data folder"), ("nothing.nrrd", "not in the data folder"),
                            ("  ", "Type the path")):
        with pytest.raises(InputError, match=fragment):
            resolve_under(data_root, typed)


def test_uploaded_names_stay_in_their_folder(tmp_path):
    session = tmp_path / "session"
    session.mkdir()
    one = save_uploads([{"name": "../../escape.nii.gz", "content": b"data"}], session)
    assert one.name == "escape.nii.gz" and one.parent.parent == session and one.read_bytes() == b"data"
    pair = save_uploads([{"name": "ct.mhd", "content": b"h"}, {"name": "ct.raw", "content": [b"r", b"aw"]}], session)
    assert pair.name == "ct.mhd" and (pair.parent / "ct.raw").read_bytes() == b"raw"
    series = save_uploads([{"name": "a/IM1", "content": b"1"}, {"name": "b/IM1", "content": b"2"},
                           {"name": "..\\IM2", "content": b"3"}], session)
    assert series.parent == session and sorted(p.name for p in series.iterdir()) == ["00001-IM1", "IM1", "IM2"]
    with pytest.raises(InputError, match="no usable name"):
        save_uploads([{"name": "..", "content": b""}], session)
    assert len(list(session.iterdir())) == 3  # the refused upload left no folder
    assert oct(one.parent.stat().st_mode & 0o777) == "0o700"
