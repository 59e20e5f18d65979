"""A real `flrseg segment` process hit by a burst of SIGINT and SIGTERM: no traceback, exit 130 or 143, and
nothing left in TMPDIR (no unpacked model, no staging, no torchinductor folder) nor half-written in the output."""

import os
import signal
import subprocess
import sys
import time

import pytest
import SimpleITK as sitk

from FLRSegmentationLib.cli.main import main
from FLRSegmentationLib.research.phantom import make_phantom

REPO_LIB = os.path.join(os.path.dirname(__file__), "..", "..", "..", "FLRSegmentation")


@pytest.fixture(scope="module")
def cts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cts")
    paths = []
    for seed in (1, 2):
        paths.append(folder / f"ct{seed}.nrrd")
        sitk.WriteImage(make_phantom(seed, base_spacing=6.0)[0], str(paths[-1]))
    return paths


def interrupted_run(cts, tmp_path, wait_for: str, first: int):
    """Start a run, wait for a progress line holding `wait_for`, then send 40 signals 4 ms apart."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    out = tmp_path / "out"
    env = dict(os.environ, TMPDIR=str(tmpdir), PYTHONPATH=os.path.abspath(REPO_LIB))
    env.pop("TORCHINDUCTOR_CACHE_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "FLRSegmentationLib.cli", "segment", *map(str, cts), "-o",
                             str(out), "--device", "cpu", "--fast", "--progress", "lines"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout:
        if wait_for in line:
            break
    other = signal.SIGTERM if first == signal.SIGINT else signal.SIGINT
    for i in range(40):
        proc.send_signal(first if i % 2 == 0 else other)
        time.sleep(0.004)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err, tmpdir, out


@pytest.mark.parametrize("wait_for, first", [("loading model", signal.SIGINT), ("writing outputs", signal.SIGTERM)])
def test_a_burst_of_signals_cancels_cleanly(cts, tmp_path, wait_for, first):
    code, err, tmpdir, out = interrupted_run(cts, tmp_path, wait_for, first)
    assert "Traceback" not in err and "Exception" not in err, err
    assert code == 128 + first, (code, err)
    assert err.strip().splitlines()[-1] == "flrseg: cancelled", err
    assert list(tmpdir.iterdir()) == []  # the unpacked model, the stage files, torchinductor: all gone
    leftovers = [p.name for p in out.rglob("*")] if out.exists() else []
    assert not [n for n in leftovers if "partial" in n]
    for name in ("ct1", "ct2"):  # a case is there completely or not at all
        present = {f"{name}_seg.nii.gz", f"{name}.seg.nrrd", f"{name}_report.json"} & set(leftovers)
        assert len(present) in (0, 3), leftovers


def test_the_run_uses_a_private_tmpdir_and_gives_the_environment_back(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    before = dict(os.environ)
    code = main(["phantom", str(tmp_path / "p.nrrd")])
    assert code == 0 and dict(os.environ) == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.nrrd"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_argparse_error_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["segment", "x.nii.gz", "-o", "out", "--margin-mm", "nan"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1
    assert err[0].startswith("flrseg: error: flrseg segment: argument --margin-mm") and "--help" in err[0]
    for bad in ("inf", "-1"):
        with pytest.raises(SystemExit):
            main(["segment", "x.nii.gz", "-o", "out", "--margin-mm", bad])
        assert "not a finite margin" in capsys.readouterr().err
