#!/usr/bin/env python
"""nnU-Net's own predictor per stage (the peer) against the optimised engine on one phantom: time, memory, agreement.

    .venv/bin/python Testing/benchmark_cascade.py [--size 512 512 200] [--spacing 0.7 0.7 1.25] [--device cpu]
        [--features 8] [--plan-spacing 2.5 1.4 1.4] [--patch 64 192 192] [--compare optimised] [--ablation]

Two model packages segment the same phantom, every run in its own child process (its peak memory is its own):
- timing: CRLM and FLR stages with nnU-Net's full-size 3d architecture (6-stage PlainConvUNet, 2 convolutions per
  stage, anisotropic kernels, as nnU-Net plans it for a thick-slice liver CT) at --plan-spacing with --patch,
  untrained (time and memory do not depend on the weights); --features sets the first stage's width (32 is
  nnU-Net's full size, every width scales with it; the CPU default is smaller so the run fits 10 minutes on 2
  cores). The liver stage is the demo model's: its output decides where stages 2-3 run, so it has to be a real one.
- demo: the committed demo models, for the agreement between variants (Dice per structure, differing voxels).
Variants: peer (nnunet_peer.py: nnU-Net's nnUNetPredictor whole-image prediction per stage on the input the stage
was trained on, NIfTI files between stages, as chained nnUNetv2_predict runs), optimised (the engine's defaults:
`flrseg segment`). --ablation adds naive (every stage on the whole volume with nnU-Net's whole-image prediction,
files between stages), exact (the engine with stages 2-3 on the whole volume: the naive's labels, computed around
the liver; all the naive's tiles, minutes on the CPU), the optimised engine with each switch turned off on its own,
and the cost and effect of the accuracy options: no tile overlap (both packages) and test-time mirroring (timing
package; the demo models allow no mirroring). On a GPU the demo models also run the compared variant in fp32, to
count the voxels mixed precision (fp16 autocast) changes.
The last line compares the peer with the --compare variant (default: the engine's defaults):
peer=nnunet speedup=X memory_ratio=Y min_dice=Z network_share=W (wall time and peak RSS of the timing package, peer
over engine; the lowest per-structure Dice between the two with the demo models; the engine's forward-pass seconds
over its wall seconds, timing package); the line before it adds the speedup in CPU seconds, steadier on a machine
other jobs share.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from FLRSegmentationLib.inference.speed_options import SWITCHES, SpeedOptions
from FLRSegmentationLib.models.packages import REPO_MODELS_DIR, write_manifest
from FLRSegmentationLib.research.phantom import clinical_grid, make_phantom
from FLRSegmentationLib.vocabulary.labels import split_label_map
from FLRSegmentationLib.vocabulary.stages import STAGES
from nnunet_peer import load_peer, run_peer

DEMO = REPO_MODELS_DIR / "demo-phantom"
STRUCTURES = ("liver", "crlm", "flr")
VARIANT_SWITCHES = {"naive": dict(locate=False, lean=False, in_memory=False, crop=False), "exact": dict(crop=False),
                    "optimised": {}}
TRAINER, PLANS, CONFIGURATION = "nnUNetTrainer", "nnUNetPlans", "3d_fullres"


def plain_unet_plan(spacing, patch, base: int) -> dict:
    """nnU-Net's 3d_fullres architecture for this patch: 6 stages, features doubling to at most 10 x base (320 for
    the full size 32), in-plane-only kernels and pooling while the voxels are over twice as thick as wide."""
    spacing, size = np.array(spacing, float), np.array(patch, int)
    kernels, strides = [], [[1, 1, 1]]
    for stage in range(6):
        kernels.append([1 if s > 2 * spacing.min() else 3 for s in spacing])
        if stage < 5:
            pool = [2 if (n // 2 >= 4 and s <= 2 * spacing.min()) else 1 for n, s in zip(size, spacing)]
            strides.append(pool)
            size, spacing = size // np.array(pool), spacing * np.array(pool)
    return {"n_stages": 6, "features_per_stage": [min(base * 2 ** i, 10 * base) for i in range(6)],
            "kernel_sizes": kernels, "strides": strides[:6], "n_conv_per_stage": [2] * 6,
            "n_conv_per_stage_decoder": [2] * 5}


def timing_package(folder: Path, spacing, patch, base: int, untrained=("crlm", "flr"), seed: int = 0) -> Path:
    """The demo package with the `untrained` stages replaced by untrained networks of the given plan (on the demo
    stages' datasets). An untrained liver answers "liver" everywhere; untrained CRLM and FLR answer background."""
    import torch
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    from FLRSegmentationLib.models.packages import open_package
    from FLRSegmentationLib.models.network_builders import build_plain_network

    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory(prefix="flrseg-bench-demo-") as tmp:
        demo = open_package(DEMO, Path(tmp))
        stages = {}
        for name in STRUCTURES:
            source = demo.stage(name, Path(tmp))
            if name not in untrained:
                shutil.copytree(source.folder, folder / name / source.folder.name)
                stages[name] = dict(demo.manifest["stages"][name], file=name)
                continue
            target = folder / name / f"{TRAINER}__{PLANS}__{CONFIGURATION}"
            (target / "fold_all").mkdir(parents=True)
            shutil.copy2(source.folder / "dataset.json", target / "dataset.json")
            plans = json.loads((source.folder / "plans.json").read_text())
            config = plans["configurations"][CONFIGURATION]
            config.update(spacing=list(spacing), patch_size=list(patch))
            config["architecture"]["arch_kwargs"].update(plain_unet_plan(spacing, patch, base))
            (target / "plans.json").write_text(json.dumps(plans, indent=2))
            manager = PlansManager(plans)
            network = build_plain_network(manager, manager.get_configuration(CONFIGURATION),
                                          len(STAGES[name].channels), 2)
            with torch.no_grad():
                network.decoder.seg_layers[-1].bias.copy_(torch.tensor([-10.0, 10.0] if name == "liver" else
                                                                        [10.0, -10.0]))
            torch.save({"network_weights": network.state_dict(), "trainer_name": TRAINER,
                        "inference_allowed_mirroring_axes": (0, 1, 2)}, target / "fold_all" / "checkpoint_final.pth")
            stages[name] = {"file": name, "configuration": CONFIGURATION, "trainer": TRAINER, "plans": PLANS,
                            "folds": ["all"], "checkpoint": "checkpoint_final.pth",
                            "input_channels": list(STAGES[name].channels), "labels": STAGES[name].labels}
    write_manifest(folder, {"id": "benchmark-untrained", "title": "Demo liver, untrained full-size CRLM and FLR",
                            "version": "0", "license": "Apache-2.0", "citation": "-", "demo": True,
                            "intended_use": "Benchmark timing only: untrained, meaningless output.",
                            "strategies": {"cascade": list(STRUCTURES)}, "stages": stages})
    return folder


def child(spec: dict) -> None:
    """One variant in this process: load, then read the CT and segment it; print the figures as JSON."""
    import torch

    from FLRSegmentationLib.inference.engine import SegmentationEngine
    from FLRSegmentationLib.inference.postprocess import PostprocessRules
    from FLRSegmentationLib.inference.stage_io import CROP_MARGIN_MM
    from FLRSegmentationLib.imaging.ct_input import read_ct
    from FLRSegmentationLib.models.packages import open_package

    device = torch.device(spec["device"])
    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    speed = SpeedOptions(**spec["speed"])
    network = {}
    with tempfile.TemporaryDirectory(prefix="flrseg-bench-run-") as tmp:
        start = time.perf_counter()
        package = open_package(Path(spec["package"]), Path(tmp))
        if spec["peer"]:
            predictors = load_peer(package, Path(tmp), device, speed.tile_step_size, speed.mirroring)
            load_s = time.perf_counter() - start
            start, cpu = time.perf_counter(), time.process_time()
            label_map, stage_seconds = run_peer(predictors, Path(spec["ct"]), Path(tmp), CROP_MARGIN_MM,
                                                PostprocessRules())
            seconds = time.perf_counter() - start
        else:
            engine = SegmentationEngine(package, "cascade", device, Path(tmp), speed=speed)
            load_s = time.perf_counter() - start
            start, cpu = time.perf_counter(), time.process_time()
            result = engine.segment(read_ct(Path(spec["ct"]), keep_integers=True))  # the CT in its own int16
            seconds = time.perf_counter() - start
            label_map, stage_seconds, network = result.label_map, result.stage_seconds, result.network_seconds
        cpu_s = time.process_time() - cpu
    np.save(spec["out"], label_map)
    gpu = torch.cuda.max_memory_allocated() / 2 ** 20 if device.type == "cuda" else None
    print(json.dumps({"seconds": seconds, "cpu_s": cpu_s, "load_s": load_s, "stage_seconds": stage_seconds,
                      "network_seconds": network,
                      "peak_rss_mb": peak_rss_mb(),
                      "peak_gpu_mb": gpu}))


def peak_rss_mb() -> float:
    """This process's own peak resident memory: VmHWM belongs to its address space, which exec made new, whereas
    getrusage's ru_maxrss carries the parent's peak over fork and exec (here: the phantom's rendering)."""
    import resource

    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2 ** 20 if sys.platform == "darwin" else 1024)


def run_child(spec: dict) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"variant failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def dice(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


def agreement(reference: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    ref, got = split_label_map(reference), split_label_map(labels)
    return {name: dice(ref[name], got[name]) for name in STRUCTURES}


def phantom_file(args, tmp: Path) -> tuple[Path, sitk.Image | None]:
    """The CT the variants read: the phantom of --size, --spacing and --seed, rendered (with its truth) or, with
    --phantom-cache, read from there once rendered (the truth is not kept: minutes saved at 100 M voxels)."""
    begin = time.perf_counter()
    name = f"phantom-{'x'.join(map(str, args.size))}-{'x'.join(map(str, args.spacing))}-seed{args.seed}.nii.gz"
    cached = None if args.phantom_cache is None else Path(args.phantom_cache) / name
    truth = None
    if cached is None or not cached.exists():
        ct, truth = make_phantom(args.seed, grid=clinical_grid(tuple(args.size), tuple(args.spacing)))
        sitk.WriteImage(ct, str(tmp / "ct.nii.gz"), useCompression=True)
        if cached is not None:
            shutil.copy2(tmp / "ct.nii.gz", cached)
    else:
        shutil.copy2(cached, tmp / "ct.nii.gz")
    fov = " x ".join(f"{n * s:.0f}" for n, s in zip(args.size, args.spacing))
    print(f"phantom {'x'.join(map(str, args.size))} at {args.spacing} mm ({fov} mm), seed {args.seed}: "
          f"{np.prod(args.size) / 1e6:.1f} M voxels, ready after {time.perf_counter() - begin:.0f} s"
          + ("" if truth is not None else f" (from {cached})"))
    return tmp / "ct.nii.gz", truth


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, nargs=3, default=[512, 512, 200], help="phantom voxels x y z")
    parser.add_argument("--spacing", type=float, nargs=3, default=[0.7, 0.7, 1.25], help="phantom mm x y z")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--phantom-cache", help="a folder to keep rendered phantoms in and read them from")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--features", type=int, default=8, help="timing networks' first width (32: full size)")
    parser.add_argument("--plan-spacing", type=float, nargs=3, default=[2.5, 1.4, 1.4], help="timing plans, mm z y x")
    parser.add_argument("--patch", type=int, nargs=3, default=[64, 192, 192],
                        help="timing plans' patch, z y x (about the 2 M voxels nnU-Net plans for a full-size 3D U-Net)")
    parser.add_argument("--untrained", nargs="+", choices=STRUCTURES, default=["crlm", "flr"],
                        help="timing stages given untrained full-architecture networks (an untrained liver answers "
                        "liver everywhere: stages 2-3 then crop to the whole volume, their worst case)")
    parser.add_argument("--compare", choices=["exact", "optimised"], default="optimised",
                        help="the engine variant the last line compares with the peer")
    parser.add_argument("--ablation", action="store_true", help="also the optimised engine without each switch")
    parser.add_argument("--mirroring", action="store_true",
                        help="test-time mirroring in every variant (8x the network time; off by default)")
    parser.add_argument("--tile-overlap", type=float, default=0.5, help="in every variant (default: %(default)s)")
    parser.add_argument("--threads", type=int, help="torch CPU threads in every variant (default: torch's choice; "
                        "1 is steadier on a machine other jobs keep busy)")
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return 0

    begin = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="flrseg-bench-") as tmp:
        tmp = Path(tmp)
        ct_path, truth = phantom_file(args, tmp)
        timing = timing_package(tmp / "timing", args.plan_spacing, args.patch, args.features, tuple(args.untrained))
        arch = plain_unet_plan(args.plan_spacing, args.patch, args.features)
        print(f"timing networks: untrained PlainConvUNet for {', '.join(args.untrained)} (others the demo's), "
              f"6 stages, features {arch['features_per_stage']}, patch {'x'.join(map(str, args.patch))} at "
              f"{args.plan_spacing} mm (z y x)")
        import torch
        print(f"device={args.device} cores={os.cpu_count()} torch_threads={args.threads or torch.get_num_threads()} "
              f"gpu={torch.cuda.get_device_name() if args.device == 'cuda' else 'none'}")
        base = SpeedOptions(tile_step_size=1.0 - args.tile_overlap, mirroring=args.mirroring)
        variants = {name: replace(base, **switches) for name, switches in VARIANT_SWITCHES.items()
                    if args.ablation or name == args.compare}
        runs = [("peer", "timing", base), (args.compare, "timing", variants[args.compare])]
        if args.ablation:
            optimised = variants["optimised"]
            runs += [(name, "timing", speed) for name, speed in variants.items() if name != args.compare]
            runs += [(f"no-{switch}", "timing", optimised.without(switch)) for switch in SWITCHES]
            runs += [("overlap-0", "timing", replace(optimised, tile_step_size=1.0)),
                     ("mirroring", "timing", replace(optimised, mirroring=True)),
                     ("overlap-0", "demo", replace(optimised, tile_step_size=1.0))]
        runs += [("peer", "demo", base)] + [(name, "demo", speed) for name, speed in variants.items()]
        if args.device == "cuda":
            runs.append(("fp32", "demo", replace(variants[args.compare], precision="fp32")))
        figures, labels = {}, {}
        print(f"{'variant':<13}{'models':<8}{'wall s':>8}{'cpu s':>8}{'load s':>8}{'peak RSS MB':>13}"
              f"{'peak GPU MB':>13}  stages s (network s)")
        for name, package, speed in runs:
            out = tmp / f"{package}-{name}.npy"
            spec = {"package": str(timing if package == "timing" else DEMO), "peer": name == "peer",
                    "ct": str(ct_path), "out": str(out), "speed": speed.as_dict(), "device": args.device,
                    "threads": args.threads}
            fig = figures[name, package] = run_child(spec)
            labels[name, package] = np.load(out)
            gpu = "-" if fig["peak_gpu_mb"] is None else f"{fig['peak_gpu_mb']:.0f}"
            stages = " ".join(f"{k}={v:.1f}" + (f"({fig['network_seconds'][k]:.1f})" if k in fig["network_seconds"]
                                                 else "") for k, v in fig["stage_seconds"].items())
            print(f"{name:<13}{package:<8}{fig['seconds']:>8.1f}{fig['cpu_s']:>8.1f}{fig['load_s']:>8.1f}"
                  f"{fig['peak_rss_mb']:>13.0f}{gpu:>13}  {stages}", flush=True)
        for against in ("peer", "naive"):
            if (against, "demo") not in labels:
                continue
            print(f"Dice with the {against} (demo models), liver crlm flr, and voxels that differ:")
            for name in [v for v in ("peer", *variants) if v != against]:
                scores = agreement(labels[against, "demo"], labels[name, "demo"])
                differ = int((labels[against, "demo"] != labels[name, "demo"]).sum())
                print(f"  {name:<11}" + " ".join(f"{scores[s]:.4f}" for s in STRUCTURES) + f"  ({differ} voxels)")
        for other, what in (("fp32", "mixed precision (fp16 autocast) against fp32"),
                            ("overlap-0", "no tile overlap against 0.5")):
            if (other, "demo") in labels:
                scores = agreement(labels[other, "demo"], labels[args.compare, "demo"])
                differ = int((labels[other, "demo"] != labels[args.compare, "demo"]).sum())
                print(f"  {what}, {args.compare} engine: " + " ".join(f"{scores[s]:.4f}" for s in STRUCTURES)
                      + f"  ({differ} voxels)")
        if truth is not None:
            print("Dice with the phantom's truth:")
            for name in ("peer", *variants):
                truth_scores = agreement(sitk.GetArrayFromImage(truth), labels[name, "demo"])
                print(f"  {name:<11}" + " ".join(f"{truth_scores[s]:.3f}" for s in STRUCTURES))
        peer = figures["peer", "timing"]
        for name in sorted((v for v in variants if (v, "timing") in figures), key=lambda v: v == args.compare):
            fig = figures[name, "timing"]
            speedup, ratio = peer["seconds"] / fig["seconds"], peer["peak_rss_mb"] / fig["peak_rss_mb"]
            gpu = ("" if fig["peak_gpu_mb"] is None
                   else f" gpu_memory_ratio={peer['peak_gpu_mb'] / fig['peak_gpu_mb']:.2f}")
            min_dice = min(agreement(labels["peer", "demo"], labels[name, "demo"]).values())
            share = sum(fig["network_seconds"].values()) / fig["seconds"]
            cpu_speedup = peer["cpu_s"] / fig["cpu_s"]
            if name == args.compare:
                print(f"total {time.perf_counter() - begin:.0f} s; {name}: cpu_speedup={cpu_speedup:.2f}{gpu}")
                print(f"peer=nnunet speedup={speedup:.2f} memory_ratio={ratio:.2f} min_dice={min_dice:.4f} "
                      f"network_share={share:.2f}")
            else:
                print(f"{name}: speedup={speedup:.2f} cpu_speedup={cpu_speedup:.2f} memory_ratio={ratio:.2f} "
                      f"min_dice={min_dice:.4f} network_share={share:.2f}{gpu}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
