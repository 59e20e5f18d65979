"""The fast cascade: exact switches change no voxel, locating finds the liver, speed options are honoured, and a
batch reads ahead without changing order, outputs or error handling."""

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.inference import segment_run
from FLRSegmentationLib.inference.engine import SegmentationEngine, touches_inner_face
from FLRSegmentationLib.inference.liver_locator import bin_mean, grow_to_tile, locate_liver
from FLRSegmentationLib.inference.segment_run import SegmentOptions, segment
from FLRSegmentationLib.inference.speed_options import SpeedOptions
from FLRSegmentationLib.inference.stage_io import Reorientation, crop_box
from FLRSegmentationLib.inference.stage_predictor import StagePredictor
from FLRSegmentationLib.models.packages import StageModel, open_package
from FLRSegmentationLib.research.phantom import clinical_grid, make_phantom

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "Testing"))
from benchmark_cascade import timing_package  # noqa: E402 - the benchmark's untrained full-architecture package

CPU = torch.device("cpu")
UNSEEN = 9005  # the demo models were trained on seeds 1000-1015


@pytest.fixture(scope="module")
def demo(demo_package, tmp_path_factory):
    unpack = tmp_path_factory.mktemp("demo")
    return open_package(demo_package, unpack), unpack


@pytest.fixture(scope="module")
def untrained(tmp_path_factory):
    """Untrained networks with small tiles (so locating pays) whose liver head says 'liver' everywhere."""
    folder = tmp_path_factory.mktemp("untrained")
    package = timing_package(folder / "package", [8.0, 6.0, 6.0], [16, 32, 32], base=4,
                             untrained=("liver", "crlm", "flr"))
    return open_package(package, folder), folder


def labels_of(package, unpack, ct, strategy="cascade", **kw):
    engine = SegmentationEngine(package, strategy, CPU, unpack, **kw)
    return engine.segment(ct)


@pytest.mark.parametrize("strategy", ["cascade", "e2e"])
def test_exact_switches_change_no_voxel(demo, strategy):
    package, unpack = demo
    ct, _ = make_phantom(UNSEEN)  # oblique, not axial: the reorientation is part of it
    naive = labels_of(package, unpack, ct, strategy, speed=SpeedOptions.naive()).label_map
    same_as_naive = labels_of(package, unpack, ct, strategy, speed=SpeedOptions(crop=False)).label_map
    assert np.array_equal(naive, same_as_naive)  # locate, lean and in-memory: the naive cascade's labels
    default = labels_of(package, unpack, ct, strategy).label_map
    for switch in ("lean", "in_memory"):
        assert np.array_equal(default, labels_of(package, unpack, ct, strategy,
                                                 speed=SpeedOptions().without(switch)).label_map), switch
    assert (naive > 0).sum() > 1000


@pytest.mark.parametrize("normalisation", ["CTNormalization", "ZScoreNormalization"])
def test_box_prediction_is_nnunets_whole_image_prediction_cut_to_the_box(demo, normalisation, tmp_path):
    """Also for a CT padded with exact zeros, which nnU-Net crops away before resampling, and for a normalisation
    with statistics of the whole image (STU-Net's plans)."""
    package, unpack = demo
    liver = package.stage("liver", unpack)
    folder = tmp_path / liver.folder.name
    shutil.copytree(liver.folder, folder)
    plans = json.loads((folder / "plans.json").read_text())
    plans["configurations"]["3d_fullres"]["normalization_schemes"] = [normalisation]
    (folder / "plans.json").write_text(json.dumps(plans))
    stage = StagePredictor(StageModel("liver", folder, liver.trainer, liver.folds, liver.checkpoint), CPU)
    ct, _ = make_phantom(UNSEEN)
    image = sitk.GetArrayFromImage(ct).astype(np.float32)
    image[:, :, :7] = 0  # a zero border, as some scanners write outside the field of view
    image[:3] = 0
    spacing = tuple(ct.GetSpacing()[::-1])
    whole = stage.predict(image[None], spacing)
    box = tuple(slice(n // 5, n - n // 6) for n in image.shape)
    assert np.array_equal(stage.predict_box([image], spacing, box), whole[box])
    everything = tuple(slice(0, n) for n in image.shape)
    assert np.array_equal(stage.predict_box([image], spacing, everything), whole)


def test_the_located_box_holds_the_whole_true_liver(demo):
    package, unpack = demo
    locator = StagePredictor(package.stage("liver", unpack), CPU)
    ct, truth = make_phantom(UNSEEN, grid=clinical_grid((240, 240, 50), (1.5, 1.5, 5.0)))  # axial, 360 x 360 x 250 mm
    image = sitk.GetArrayFromImage(ct).astype(np.float32)
    liver = sitk.GetArrayFromImage(truth) > 0
    box = locate_liver(locator, image, (5.0, 1.5, 1.5), margin_mm=20.0)
    inside = np.zeros_like(liver)
    inside[box] = True
    assert liver[~inside].sum() == 0
    assert inside.sum() < 0.6 * inside.size  # and it is a box around the liver, not the image
    assert not touches_inner_face(liver, box)
    true_box = crop_box(liver, (5.0, 1.5, 1.5), 0.0)
    assert all(b.start <= t.start and b.stop >= t.stop for b, t in zip(box, true_box))


def test_binning_and_growing_keep_geometry():
    image = np.arange(5 * 7 * 9, dtype=np.float32).reshape(5, 7, 9)
    binned = bin_mean(image, (2, 3, 1))
    assert binned.shape == (3, 3, 9)
    assert binned[0, 0, 0] == image[0:2, 0:3, 0].mean()
    assert binned[2, 2, 4] == image[4:5, 6:7, 4].mean()  # a short last block is the mean of what it holds


def test_a_liver_cut_by_the_located_box_reruns_on_the_whole_image(untrained):
    """The untrained liver head says 'liver' everywhere, so the liver reaches the located box's cut faces: the
    stage must run again on the whole image, giving exactly the labels of a run without locating."""
    package, unpack = untrained
    demo_root = REPO / "Models" / "demo-phantom"
    locator = open_package(demo_root, unpack / "loc").stage("liver", unpack / "loc")
    ct, _ = make_phantom(UNSEEN, grid=clinical_grid((120, 120, 42), (3.0, 3.0, 6.0)))
    located = labels_of(package, unpack, ct, locator=locator, speed=SpeedOptions(crop=False, mirroring=False))
    assert "locate" in located.stage_seconds
    assert any("too tight" in w["message"] and w["code"] == "locator_box_too_tight" for w in located.warnings)
    plain = labels_of(package, unpack, ct, speed=SpeedOptions(crop=False, locate=False, mirroring=False))
    assert np.array_equal(located.label_map, plain.label_map)


def test_grow_to_tile_reaches_one_tile_inside_the_image(untrained):
    package, unpack = untrained
    stage = StagePredictor(package.stage("liver", unpack), CPU)  # patch 16 x 32 x 32 at 8 x 6 x 6 mm
    grown = grow_to_tile((slice(10, 12), slice(0, 5), slice(100, 118)), stage, (3.0, 1.5, 1.5), (60, 200, 150))
    sizes = [g.stop - g.start for g in grown]
    assert sizes == [44, 129, 129]  # 16 x 8 / 3 and 32 x 6 / 1.5 voxels, plus one
    assert grown[1].start == 0 and grown[2].stop == 150  # shifted to stay inside the image
    assert grown[0].start <= 10 and grown[0].stop >= 12


@pytest.mark.parametrize("precision, dtype", [("auto", torch.float32), ("fp32", torch.float32),
                                              ("bf16", torch.bfloat16)])
def test_precision_switch_sets_the_network_arithmetic(demo, precision, dtype):
    package, unpack = demo
    stage = StagePredictor(package.stage("liver", unpack), CPU, precision=precision)
    seen = []
    first_conv = next(m for m in stage.predictor.network.modules() if isinstance(m, torch.nn.Conv3d))
    first_conv.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    ct, _ = make_phantom(UNSEEN)
    labels = stage.predict(sitk.GetArrayFromImage(ct).astype(np.float32)[None], tuple(ct.GetSpacing()[::-1]))
    assert set(seen) == {dtype}
    assert labels.any()


def test_tile_overlap_and_mirroring_options_change_the_work_done(untrained):
    package, unpack = untrained
    image = np.random.default_rng(0).normal(100, 30, (1, 60, 192, 192)).astype(np.float32)
    calls = {}
    for name, options in {"default": {}, "no overlap": {"tile_step_size": 1.0},
                          "no mirroring": {"mirroring": False}}.items():
        stage = StagePredictor(package.stage("crlm", unpack), CPU, **options)
        count = []
        stage.predictor.network.register_forward_pre_hook(lambda *a: count.append(1))
        stage.predict(np.concatenate([image, image > 100]), (4.0, 3.0, 3.0))
        calls[name] = len(count)
    assert calls["default"] == 8 * calls["no mirroring"]  # all 8 flips of each tile (the model allows 3 axes)
    assert calls["no overlap"] < calls["default"] / 2


def write_cases(folder, seeds):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in seeds:
        ct, _ = make_phantom(seed)
        paths.append(folder / f"case{seed}.nii.gz")
        sitk.WriteImage(ct, str(paths[-1]), useCompression=True)
    return paths


def test_batch_reads_the_next_case_while_segmenting_in_order(tmp_path, demo_package, monkeypatch):
    paths = write_cases(tmp_path / "in", [9006, 9007, 9008])
    reads, writes = [], []
    real_read = segment_run.read_ct

    def recording_read(path):
        reads.append((Path(path).name, threading.current_thread().name, time.perf_counter()))
        return real_read(path)

    monkeypatch.setattr(segment_run, "read_ct", recording_read)

    def progress(stage, fraction, message):
        if stage == "write":
            writes.append((message.split(":")[0], time.perf_counter()))

    reports = segment(paths, tmp_path / "out", SegmentOptions(model=str(demo_package), device="cpu"), progress)
    assert [r["case"] for r in reports] == ["case9006", "case9007", "case9008"]
    assert [name for name, _ in writes] == ["case9006", "case9007", "case9008"]
    assert all(thread.startswith("flrseg-read") for _, thread, _ in reads)
    read_started = {name.split(".")[0]: t for name, _, t in reads}
    assert read_started["case9007"] < writes[0][1]  # the next CT was being read before this case was written
    assert read_started["case9008"] < writes[1][1]
    alone = segment([paths[1]], tmp_path / "alone", SegmentOptions(model=str(demo_package), device="cpu"))
    batch_seg = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "out" / "case9007_seg.nii.gz")))
    alone_seg = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "alone" / "case9007_seg.nii.gz")))
    assert np.array_equal(batch_seg, alone_seg) and alone[0]["stage_seconds"]


def test_batch_stops_at_a_damaged_file_in_its_turn(tmp_path, demo_package):
    paths = write_cases(tmp_path / "in", [9006, 9007])
    damaged = tmp_path / "in" / "damaged.nii.gz"
    data = paths[1].read_bytes()
    damaged.write_bytes(data[: len(data) // 3])  # the header is intact, the voxels are cut short
    with pytest.raises(InputError, match="damaged.nii.gz"):
        segment([paths[0], damaged, paths[1]], tmp_path / "out", SegmentOptions(model=str(demo_package), device="cpu"))
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert any(n.startswith("case9006") for n in written)
    assert not any(n.startswith(("damaged", "case9007")) for n in written)


def test_speed_options_reach_the_report_and_bad_values_get_one_line(tmp_path, demo_package):
    ct, _ = make_phantom(UNSEEN)
    path = tmp_path / "ct.nii.gz"
    sitk.WriteImage(ct, str(path), useCompression=True)
    flrseg = [sys.executable, "-m", "FLRSegmentationLib.cli", "segment", str(path), "-o", str(tmp_path / "out"),
              "--model", str(demo_package), "--device", "cpu", "--progress", "none"]
    bad = subprocess.run(flrseg + ["--tile-overlap", "1.5"], capture_output=True, text=True, cwd=REPO / "FLRSegmentation")
    assert bad.returncode == 2 and "argument --tile-overlap" in bad.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "out").exists()
    missing = subprocess.run(flrseg + ["--locator", str(tmp_path / "nowhere")], capture_output=True, text=True,
                             cwd=REPO / "FLRSegmentation")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "nowhere" in missing.stderr
    done = subprocess.run(flrseg + ["--tile-overlap", "0", "--no-mirroring", "--precision", "bf16",
                                    "--locator", str(demo_package)],
                          capture_output=True, text=True, cwd=REPO / "FLRSegmentation")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "ct_report.json").read_text())
    assert report["speed"]["tile_step_size"] == 1.0
    assert report["speed"]["mirroring"] is False and report["speed"]["precision"] == "bf16"
    assert Reorientation.from_direction(ct.GetDirection())  # the oblique phantom went through the whole engine
