"""Rebuild the demo model package from phantoms with nnunetv2's own planning, preprocessing, training and export.

Every nnunetv2 step is its real command-line tool, printed before it runs, so the recipe can be repeated by hand.
The networks are shrunk (features 4 ... 32) so a model trains in minutes on a CPU and weighs about 1 MB.
Demo models only: trained on synthetic phantoms, not for clinical use.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import __version__
from .nnunet_dataset import write_stage_dataset
from .packages import write_manifest
from .phantom import make_phantom
from .stages import STAGES, STRATEGIES

TRAINERS_DIR = Path(__file__).parent / "nnunet_trainers"
DATASET_IDS = {"liver": 901, "crlm": 902, "flr": 903, "e2e": 904}
FEATURES = [4, 8, 16, 32, 32, 32, 32]
CONFIGURATION = "3d_fullres"
PLANS = "nnUNetPlans"
DEMO_MANIFEST = {
    "id": "demo-phantom",
    "title": "Demo cascade and E2E trained on synthetic phantoms",
    "license": "Apache-2.0",
    "citation": "FLR Segmentation demo models (phantoms). Not a published model.",
    "intended_use": "Demo and testing only: trained on synthetic phantoms. NOT FOR CLINICAL USE.",
    "demo": True,
}


def run(cmd: list[str], env: dict) -> None:
    print("+", " ".join(shlex.quote(c) for c in cmd), flush=True)
    subprocess.run(cmd, env=env, check=True)


def nnunet_env(work: Path) -> dict:
    env = dict(os.environ)
    env.update(nnUNet_raw=str(work / "raw"), nnUNet_preprocessed=str(work / "preprocessed"),
               nnUNet_results=str(work / "results"), nnUNet_extTrainer=str(TRAINERS_DIR),
               nnUNet_n_proc_DA=env.get("nnUNet_n_proc_DA", "1"), nnUNet_compile="false")
    return env


def shrink_plans(plans_file: Path) -> None:
    """Small features and batch size 2: the demo networks must train on a CPU and stay tiny in the repository."""
    plans = json.loads(plans_file.read_text())
    config = plans["configurations"][CONFIGURATION]
    arch = config["architecture"]["arch_kwargs"]
    arch["features_per_stage"] = FEATURES[: arch["n_stages"]]
    config["batch_size"] = 2
    plans_file.write_text(json.dumps(plans, indent=2))


def train_stage(stage: str, cases, work: Path, trainer: str, out_zip: Path) -> None:
    env = nnunet_env(work)
    did = DATASET_IDS[stage]
    name = f"Dataset{did}_FLRDemo{stage.upper()}"
    write_stage_dataset(work / "raw" / name, STAGES[stage], cases, f"FLR Segmentation demo, stage {stage}")
    bin_dir = Path(sys.executable).parent
    run([str(bin_dir / "nnUNetv2_plan_and_preprocess"), "-d", str(did), "-c", CONFIGURATION, "-np", "2",
         "-npfp", "2", "--verify_dataset_integrity"], env)
    shrink_plans(work / "preprocessed" / name / f"{PLANS}.json")
    run([str(bin_dir / "nnUNetv2_train"), str(did), CONFIGURATION, "all", "-tr", trainer, "-device", "cpu"], env)
    run([str(bin_dir / "nnUNetv2_export_model_to_zip"), "-d", str(did), "-o", str(out_zip), "-c", CONFIGURATION,
         "-tr", trainer, "-f", "all"], env)


def build(out_dir: Path, n_cases: int, trainer: str, stages: list[str], version: str, seed: int = 1000) -> Path:
    """Train each stage and write a model package folder (manifest + stage zips) at out_dir."""
    with tempfile.TemporaryDirectory(prefix="flrseg-demo-") as tmp:
        work = Path(tmp)
        phantoms = [(f"phantom{seed + i:05d}", *make_phantom(seed + i)) for i in range(n_cases)]
        staging = work / "package"
        staging.mkdir()
        for stage in stages:
            train_stage(stage, phantoms, work, trainer, staging / f"{stage}.zip")
        strategies = {s: list(st) for s, st in STRATEGIES.items() if all(x in stages for x in st)}
        manifest = dict(DEMO_MANIFEST, version=version, strategies=strategies, stages={
            stage: {"file": f"{stage}.zip", "configuration": CONFIGURATION, "trainer": trainer,
                    "plans": PLANS, "folds": ["all"], "checkpoint": "checkpoint_final.pth",
                    "input_channels": list(STAGES[stage].channels), "labels": STAGES[stage].labels}
            for stage in stages},
            training={"phantoms": n_cases, "first_seed": seed, "flrseg_version": __version__})
        write_manifest(staging, manifest)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        shutil.copytree(staging, out_dir)
    return out_dir


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="package folder to (re)write, e.g. Models/demo-phantom")
    parser.add_argument("--cases", type=int, default=16, help="number of training phantoms")
    parser.add_argument("--trainer", default="nnUNetTrainerFLRDemo")
    parser.add_argument("--stages", nargs="+", default=list(DATASET_IDS), choices=list(DATASET_IDS))
    parser.add_argument("--version", default="1.0.0")
    args = parser.parse_args(argv)
    build(args.out_dir, args.cases, args.trainer, args.stages, args.version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
