"""`flrseg benchmark-grid` on the committed demo packages and two unseen phantoms: the paper-style table with a
row per network x strategy, every trained cell a number, rows without a package "not trained", and the cascades
rerun with the reference liver for the robustness columns."""

import re
import subprocess
import sys

import pytest
import SimpleITK as sitk

from FLRSegmentationLib.research.benchmark_grid import NOT_TRAINED, grid_table, run_grid
from FLRSegmentationLib.research.phantom import make_phantom

SEEDS = (9001, 9003)  # the demo models were trained on seeds 1000-1015
NUMBER = re.compile(r"^\d+\.\d+ ± \d+\.\d+¹?$")


def flrseg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "FLRSegmentationLib.cli", *args], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    root = tmp_path_factory.mktemp("grid")
    (root / "ct").mkdir()
    (root / "ref").mkdir()
    for seed in SEEDS:
        ct, truth = make_phantom(seed)
        sitk.WriteImage(ct, str(root / "ct" / f"phantom{seed}.nrrd"), useCompression=True)
        sitk.WriteImage(truth, str(root / "ref" / f"phantom{seed}.nii.gz"), useCompression=True)
    return root


def table_rows(table: str) -> dict[tuple[str, str], list[str]]:
    lines = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| ---")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines[1:]]
    return {(row[0], row[1]): row[2:] for row in cells}


def test_the_grid_of_the_demo_packages_has_a_number_in_every_trained_cell(cases):
    rows = run_grid(cases / "ct", cases / "ref", {"nnunet": "demo-phantom", "stunet": "demo-phantom-stunet"})
    table = table_rows(grid_table(rows))
    assert list(table) == [(n, s) for n in ("nnU-Net", "SwinUNETR", "STU-Net") for s in ("cascade", "E2E")]
    for key in (("nnU-Net", "cascade"), ("nnU-Net", "E2E"), ("STU-Net", "cascade")):
        n, *cells = table[key]
        assert n == str(len(SEEDS)) and len(cells) == 9 and all(NUMBER.match(c) for c in cells), (key, cells)
    for key in (("SwinUNETR", "cascade"), ("SwinUNETR", "E2E"), ("STU-Net", "E2E")):
        assert table[key] == ["-"] + [NOT_TRAINED] * 9
    for row in rows:
        if row.strategy == "cascade" and row.scores is not None:  # stages 2-3 got the reference liver
            assert all(s.dice["liver"] > 0.999 for s in row.true_liver)
            assert all(s.dice["liver"] < 0.999 for s in row.scores)
            assert all(s.dice["crlm"] >= 0.70 for s in row.scores + row.true_liver)


def test_flrseg_benchmark_grid_prints_and_writes_the_table(cases, tmp_path):
    done = flrseg("benchmark-grid", str(cases / "ct"), str(cases / "ref"), "--model", "stunet=demo-phantom-stunet",
                  "--markdown", str(tmp_path / "grid.md"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "grid.md").read_text() == done.stdout
    table = table_rows(done.stdout)
    assert all(NUMBER.match(c) for c in table[("STU-Net", "cascade")][1:])
    assert table[("nnU-Net", "cascade")][1:] == [NOT_TRAINED] * 9
    assert "demo-phantom-stunet 1.0.0 (demo - not for clinical use)" in done.stderr


@pytest.mark.parametrize("args, expected", [
    (["--model", "unet=demo-phantom"], "--model unet=demo-phantom: give NETWORK=PACKAGE"),
    (["--model", "stunet=demo-phantom", "--model", "stunet=demo-phantom-stunet"], "--model stunet is given twice"),
    ([], "needs at least one --model"),
])
def test_bad_grid_requests_are_one_line_errors(cases, args, expected):
    done = flrseg("benchmark-grid", str(cases / "ct"), str(cases / "ref"), *args)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and expected in lines[0], done.stderr


def test_a_reference_case_without_its_ct_is_refused(cases, tmp_path):
    (tmp_path / "ct").mkdir()
    done = flrseg("benchmark-grid", str(tmp_path / "ct"), str(cases / "ref"), "--model", "nnunet=demo-phantom")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and "has no CT for 2 reference case(s)" in lines[0], done.stderr
