"""`flrseg segment --cluster` and `flrseg evaluate --cluster` on real Dask clusters of 2 worker processes.

`local:2` is started by the command itself; the `tcp://` runs use a LocalCluster started here whose workers
declare GPU=1 (so every case asks for a GPU resource) and carry a preload that holds one write half-way, so the
test can end that worker's process mid-case. Tiny phantoms, the demo model, --fast.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from distributed import Client, LocalCluster

from FLRSegmentationLib.cluster.connection import ClusterSpec, gpu_resources, parse_cluster
from FLRSegmentationLib.cluster.model_plugin import ModelPlugin, pinned_gpu
from FLRSegmentationLib.errors import InputError, ModelError
from FLRSegmentationLib.inference.case_outputs import output_paths
from FLRSegmentationLib.inference.segment_run import SegmentOptions, segment
from FLRSegmentationLib.research.evaluation import evaluate
from FLRSegmentationLib.research.evaluation_report import markdown_table
from FLRSegmentationLib.research.phantom import centered_grid, make_phantom

SEEDS = (9001, 9002, 9003)
PRELOAD = Path(__file__).resolve().parents[1] / "helpers" / "slow_write_preload.py"


def write_phantoms(folder: Path, seeds=SEEDS) -> tuple[list[Path], Path]:
    """Small phantom CTs (40 x 36 x 24 voxels of 9 mm) and a folder of their true label maps."""
    (folder / "truth").mkdir(parents=True)
    paths = []
    for seed in seeds:
        ct, truth = make_phantom(seed, centered_grid((40, 36, 24), (9.0, 9.0, 9.0), np.eye(3)))
        paths.append(folder / f"phantom{seed}.nrrd")
        sitk.WriteImage(ct, str(paths[-1]), useCompression=True)
        sitk.WriteImage(truth, str(folder / "truth" / f"phantom{seed}.nii.gz"), useCompression=True)
    return paths, folder / "truth"


def flrseg(*args, env=None):
    return subprocess.run([sys.executable, "-m", "FLRSegmentationLib.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=300, env=env)


def labels(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


def batch_file(out: Path) -> dict:
    return json.loads((out / "flrseg_batch.json").read_text())


def assert_whole_outputs(out: Path, cases, single: Path) -> None:
    """Every case's three files, label maps voxel for voxel those of the single-process run, no staging left."""
    for case in cases:
        paths = output_paths(out, case)
        assert all(p.is_file() for p in paths.values()), case
        assert np.array_equal(labels(paths["labelmap"]), labels(single / f"{case}_seg.nii.gz")), case
        assert sitk.ReadImage(str(paths["segmentation"])).GetNumberOfComponentsPerPixel() >= 1
        assert json.loads(paths["report"].read_text())["case"] == case
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory, demo_package):
    """The phantoms and the single-process run's outputs to compare with."""
    tmp = tmp_path_factory.mktemp("cluster")
    paths, truth = write_phantoms(tmp / "in")
    segment(paths, tmp / "single", SegmentOptions(model=str(demo_package), device="cpu", fast=True))
    return paths, truth, tmp / "single"


@pytest.fixture(scope="module")
def local_run(phantoms, tmp_path_factory, demo_package):
    """`--cluster local:2` over the three phantoms, a truncated file (fails on its worker) and a 2D image (fails
    the client's header check)."""
    paths, _, _ = phantoms
    tmp = tmp_path_factory.mktemp("local")
    data = paths[0].read_bytes()
    (tmp / "cut.nrrd").write_bytes(data[: len(data) // 2])
    sitk.WriteImage(sitk.Image(32, 32, sitk.sitkInt16), str(tmp / "flat.nrrd"))
    inputs = [paths[0], tmp / "cut.nrrd", paths[1], tmp / "flat.nrrd", paths[2]]
    proc = flrseg("segment", *inputs, "-o", tmp / "out", "--model", demo_package, "--device", "cpu", "--fast",
                  "--cluster", "local:2", "--progress", "lines")
    return proc, tmp / "out"


def test_local_cluster_writes_what_the_single_process_run_writes(phantoms, local_run):
    _, _, single = phantoms
    proc, out = local_run
    assert_whole_outputs(out, [f"phantom{s}" for s in SEEDS], single)
    summary = batch_file(out)
    done = [r for r in summary["cases"] if r["status"] == "done"]
    assert [r["case"] for r in done] == [f"phantom{s}" for s in SEEDS]
    assert len({r["worker"] for r in done}) == 2, "both workers took cases"
    for record in done:
        assert record["device"] == {"liver": "cpu", "crlm": "cpu", "flr": "cpu"} and record["seconds"] > 0
        assert record["attempts"] == 1 and record["workers_tried"] == [record["worker"]]
    assert summary["model"]["id"] == "demo-phantom" and len(summary["model"]["sha256"]) == 64
    assert "dask dashboard: " in proc.stderr and "127.0.0.1" in proc.stderr
    assert "Traceback" not in proc.stderr
    fractions = [json.loads(line.split(" ", 1)[1])["fraction"] for line in proc.stdout.splitlines()
                 if line.startswith("FLRSEG_PROGRESS ")]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert [line.split()[0] for line in proc.stdout.splitlines()[-3:]] == [f"phantom{s}" for s in SEEDS]


def test_bad_inputs_fail_alone_with_their_line_and_the_exit_code_says_so(local_run):
    proc, out = local_run
    assert proc.returncode == 2
    failed = {r["case"]: r for r in batch_file(out)["cases"] if r["status"] == "failed"}
    assert set(failed) == {"cut", "flat"}
    assert "truncated or damaged" in failed["cut"]["error"] and failed["cut"]["attempts"] == 1
    assert "2D image" in failed["flat"]["error"] and failed["flat"]["attempts"] == 0
    assert not batch_file(out)["all_succeeded"]
    for case in failed:
        assert f"flrseg: case {case} failed: " in proc.stderr
        assert not any(p.exists() for p in output_paths(out, case).values())
    assert "2 of 5 case(s) failed" in proc.stderr


@pytest.fixture(scope="module")
def gpu_cluster(tmp_path_factory):
    """A scheduler on 127.0.0.1 with 2 worker processes that declare GPU=1 and hold a write when armed."""
    kill_dir = tmp_path_factory.mktemp("kill")
    os.environ["FLRSEG_TEST_KILL_DIR"] = str(kill_dir)  # the workers spawned below inherit it
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address="127.0.0.1:0", resources={"GPU": 1}, preload=[str(PRELOAD)],
                          silence_logs=40) as cluster, Client(cluster) as client:
            yield cluster.scheduler_address, client, kill_dir
    finally:
        del os.environ["FLRSEG_TEST_KILL_DIR"]


def wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.fixture(scope="module")
def killed_run(phantoms, gpu_cluster, tmp_path_factory, demo_package):
    """Two phantoms on the tcp:// cluster; the worker holding the first write is SIGKILLed mid-case."""
    paths, _, _ = phantoms
    address, _, kill_dir = gpu_cluster
    (kill_dir / "arm").write_text("")
    out = tmp_path_factory.mktemp("killed") / "out"
    proc = subprocess.Popen([sys.executable, "-m", "FLRSegmentationLib.cli", "segment", *map(str, paths[:2]), "-o",
                             str(out), "--model", str(demo_package), "--fast", "--cluster", address,
                             "--progress", "none"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        claimed = wait_for(lambda: next(kill_dir.glob("claimed-*"), None))
        staged = wait_for(lambda: list(out.glob(".*.partial-*")))  # the held case's unfinished write
        os.kill(int(claimed.name.split("-")[1]), signal.SIGKILL)
        _, stderr = proc.communicate(timeout=240)
    finally:
        proc.kill()
    return proc.returncode, stderr, out, staged


def test_a_worker_killed_mid_case_is_replaced_and_the_case_retried(phantoms, killed_run):
    _, _, single = phantoms
    returncode, stderr, out, staged = killed_run
    assert returncode == 0, stderr
    assert staged and not any(p.exists() for p in staged), "the dead worker's staging folder is removed"
    assert_whole_outputs(out, ["phantom9001", "phantom9002"], single)
    records = batch_file(out)["cases"]
    assert all(r["status"] == "done" for r in records)
    retried = [r for r in records if r["attempts"] > 1]
    assert len(retried) == 1 and len(set(retried[0]["workers_tried"])) == 2
    assert retried[0]["worker"] == retried[0]["workers_tried"][-1]


def test_resume_segments_only_the_cases_whose_outputs_are_incomplete(phantoms, gpu_cluster, killed_run, tmp_path,
                                                                      demo_package):
    paths, _, single = phantoms
    address, _, _ = gpu_cluster
    out = tmp_path / "out"
    shutil.copytree(killed_run[2], out)
    output_paths(out, "phantom9002")["report"].unlink()
    kept = {p: p.stat().st_mtime_ns for p in output_paths(out, "phantom9001").values()}
    again = flrseg("segment", *paths, "-o", out, "--model", demo_package, "--fast", "--cluster", address, "--resume")
    assert again.returncode == 0, again.stderr
    status = {r["case"]: r["status"] for r in batch_file(out)["cases"]}
    assert status == {"phantom9001": "skipped", "phantom9002": "done", "phantom9003": "done"}
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert_whole_outputs(out, [f"phantom{s}" for s in SEEDS], single)


def test_cases_ask_for_a_gpu_where_the_workers_declare_one(gpu_cluster):
    _, client, _ = gpu_cluster
    assert gpu_resources(client, "auto") == {"GPU": 1} and gpu_resources(client, "cpu") is None


def test_device_cuda_without_cuda_on_the_workers_stops_with_one_line(phantoms, gpu_cluster, tmp_path, demo_package):
    paths, _, _ = phantoms
    address, _, _ = gpu_cluster
    proc = flrseg("segment", paths[0], "-o", tmp_path / "out", "--model", demo_package, "--device", "cuda",
                  "--cluster", address)
    assert proc.returncode == 2 and "sees no CUDA GPU" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "phantom9001_seg.nii.gz").exists()


def test_evaluate_on_the_cluster_gives_the_same_table(phantoms, gpu_cluster, tmp_path):
    _, truth, single = phantoms
    address, _, _ = gpu_cluster
    proc = flrseg("evaluate", single, truth, "--cluster", address, "--markdown", tmp_path / "table.md")
    assert proc.returncode == 0, proc.stderr
    scores, _ = evaluate(truth, {"single": single})
    assert (tmp_path / "table.md").read_text() == markdown_table(scores)
    assert "dask dashboard: " in proc.stderr


def test_a_worker_whose_model_copy_differs_from_the_clients_refuses_it(gpu_cluster, demo_package):
    _, client, _ = gpu_cluster
    plugin = ModelPlugin("other-copy", SegmentOptions(model=str(demo_package), device="cpu", fast=True), "0" * 64)
    try:
        with pytest.raises(ModelError, match="differs from the client's"):
            client.register_plugin(plugin)
    finally:
        client.unregister_worker_plugin(plugin.name)


@pytest.mark.parametrize("text", ["local:0", "local:two", "localhost:8786", "tcp://"])
def test_a_bad_cluster_spec_is_refused_with_its_fix(text):
    with pytest.raises(InputError, match="local:N"):
        parse_cluster(text)


def test_cluster_specs_and_gpu_pinning():
    assert parse_cluster("local:3") == ClusterSpec("local:3", workers=3)
    assert parse_cluster("tcp://10.0.0.5:8786").address == "tcp://10.0.0.5:8786"
    assert [pinned_gpu(name, ["2", "3"]) for name in range(4)] == ["2", "3", "2", "3"]


def test_resume_without_cluster_and_an_unreachable_scheduler_exit_2(phantoms, tmp_path):
    paths, _, _ = phantoms
    proc = flrseg("segment", paths[0], "-o", tmp_path / "a", "--resume")
    assert proc.returncode == 2 and "--resume works with --cluster" in proc.stderr
    quick = dict(os.environ, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="2s")  # Dask's own setting
    proc = flrseg("segment", paths[0], "-o", tmp_path / "b", "--fast", "--cluster", "tcp://127.0.0.1:9", env=quick)
    assert proc.returncode == 2 and "can't reach the Dask scheduler" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "b").exists()
