"""Rebuild the demo model package from phantoms with nnunetv2's own planning, preprocessing, training and export.

Every nnunetv2 step is its real command-line tool, printed before it runs, so the recipe can be repeated by hand.
The networks are shrunk (features 4 ... 32) so a model trains in minutes on a CPU and weighs about 1 MB.
Demo models only: trained on synthetic phantoms, not for clinical use.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch

from .. import __version__
from ..inference.engine import SegmentationEngine
from ..models.nnunet_trainers.demo_trainers import (nnUNetTrainerFLRDemo, nnUNetTrainerFLRDemoLesion,
                                                    nnUNetTrainerFLRDemoLesionFinetune, nnUNetTrainerFLRDemoSmoke)
from ..models.packages import MANIFEST, open_package, write_manifest
from ..vocabulary.labels import split_label_map
from ..vocabulary.stages import STAGES
from .model_export import CHECKPOINT, complete_strategies, stage_entry
from .nnunet_commands import nnunet_env, nnunet_tool, run
from .nnunet_dataset import write_stage_dataset
from .phantom import make_phantom

TRAINERS = {cls.__name__: cls for cls in (nnUNetTrainerFLRDemo, nnUNetTrainerFLRDemoLesion,
                                          nnUNetTrainerFLRDemoLesionFinetune, nnUNetTrainerFLRDemoSmoke)}
# the recipe's trainings per stage, each after the first starting from the previous one's weights. Lesions need the
# longer schedule; E2E finds metastases in the whole CT, not in a liver crop: after one lesion schedule their region
# stayed at probability 0.3-0.4 (Dice 0), so a second lesion schedule follows
STAGE_TRAINERS = {"liver": ["nnUNetTrainerFLRDemo"], "crlm": ["nnUNetTrainerFLRDemoLesion"],
                  "flr": ["nnUNetTrainerFLRDemo"],
                  "e2e": ["nnUNetTrainerFLRDemoLesion", "nnUNetTrainerFLRDemoLesionFinetune"]}
DATASET_IDS = {"liver": 901, "crlm": 902, "flr": 903, "e2e": 904}
FEATURES = [4, 8, 16, 32, 32, 32, 32]
EVALUATION_SEEDS = range(9001, 9009)  # never used for training
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
# What the demo networks saw (models/domain.py): random_grid's spacings (5 mm x 0.85-1.15, the slice axis up to
# x 1.2 more) and render's intensities (-1024 to about 550 HU with noise)
PHANTOM_DOMAIN = {"images": "synthetic abdominal CT phantoms (research/phantom.py), not patient CT",
                  "spacing_mm": {"min": 4.25, "max": 6.9}, "hu_range": [-1024, 600],
                  "phase": "none (phantom intensities mimic portal-venous CT)", "age_group": "none (phantoms)"}


def shrink_plans(plans_file: Path) -> None:
    """Small features, batch size 2 and batch Dice (steadier on small lesions): the demo networks must train on a
    CPU and stay tiny in the repository."""
    plans = json.loads(plans_file.read_text())
    config = plans["configurations"][CONFIGURATION]
    arch = config["architecture"]["arch_kwargs"]
    arch["features_per_stage"] = FEATURES[: arch["n_stages"]]
    config["batch_size"] = 2
    config["batch_dice"] = True
    plans_file.write_text(json.dumps(plans, indent=2))


def train_stage(stage: str, cases, work: Path, trainer: str, out_zip: Path, pretrained: Path | None = None) -> None:
    """One nnunetv2 training of a stage, from random weights or from a checkpoint (nnUNetv2_train -pretrained_weights,
    which transfers every layer but the output heads)."""
    env = nnunet_env(work / "raw", work / "preprocessed", work / "results", nnUNet_n_proc_DA="1",
                     nnUNet_compile="false")
    did = DATASET_IDS[stage]
    name = f"Dataset{did}_FLRDemo{stage.upper()}"
    write_stage_dataset(work / "raw" / name, STAGES[stage], cases, f"FLR Segmentation demo, stage {stage}")
    run([nnunet_tool("nnUNetv2_plan_and_preprocess"), "-d", str(did), "-c", CONFIGURATION, "-np", "2",
         "-npfp", "2", "--verify_dataset_integrity"], env)
    shrink_plans(work / "preprocessed" / name / f"{PLANS}.json")
    warm_start = ["-pretrained_weights", str(pretrained)] if pretrained else []
    run([nnunet_tool("nnUNetv2_train"), str(did), CONFIGURATION, "all", "-tr", trainer, "-device", "cpu", *warm_start],
        env)
    run([nnunet_tool("nnUNetv2_export_model_to_zip"), "-d", str(did), "-o", str(out_zip), "-c", CONFIGURATION,
         "-tr", trainer, "-f", "all"], env)


def build(out_dir: Path, n_cases: int, stages: list[str], version: str, trainer: str | None = None,
          seed: int = 1000, first_round_from: Path | None = None) -> Path:
    """Train each stage (with the recipe's trainers, or `trainer` once for all) and write a package folder
    at out_dir. Stages of an existing package at out_dir that are not retrained are kept, so one stage can be rebuilt
    alone; first_round_from, a package built by this recipe, supplies the first training of stages trained more
    than once (checked before any phantom is made)."""
    trainers = {stage: [trainer] if trainer else STAGE_TRAINERS[stage] for stage in stages}
    kept = kept_stages(out_dir, stages, n_cases, seed)
    firsts = {stage: first_round(first_round_from, stage, trainers[stage][0], n_cases, seed)
              for stage in stages if first_round_from and len(trainers[stage]) > 1}
    with tempfile.TemporaryDirectory(prefix="flrseg-demo-") as tmp:
        work = Path(tmp)
        phantoms = [(f"phantom{seed + i:05d}", *make_phantom(seed + i)) for i in range(n_cases)]
        staging = work / "package"
        staging.mkdir()
        for stage, entry in kept.items():
            shutil.copy2(out_dir / entry["file"], staging / entry["file"])
        for stage in stages:
            train_rounds(stage, phantoms, work, trainers[stage], staging / f"{stage}.zip", firsts.get(stage))
        entries = dict(kept, **{
            stage: dict(stage_entry(stage, f"{stage}.zip", trainers[stage][-1], PLANS, CONFIGURATION, ["all"],
                                    CHECKPOINT), trained_after=trainers[stage][:-1])
            for stage in stages})
        manifest = dict(DEMO_MANIFEST, domain=PHANTOM_DOMAIN, version=version, strategies=complete_strategies(entries),
                        stages=dict(sorted(entries.items())),
                        training={"phantoms": n_cases, "first_seed": seed, "flrseg_version": __version__})
        write_manifest(staging, manifest)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        shutil.copytree(staging, out_dir)
    write_model_card(out_dir)  # after the copy: a failing evaluation can't cost the trained package
    return out_dir


def train_rounds(stage: str, cases, work: Path, trainers: list[str], out_zip: Path,
                 first_round_zip: Path | None = None) -> None:
    """Train with each trainer in turn, each from the previous one's final weights; first_round_zip stands for the
    first training when it was done before."""
    weights = final_checkpoint(first_round_zip, work / f"{stage}-round1.pth") if first_round_zip else None
    for done in range(1 if first_round_zip else 0, len(trainers)):
        train_stage(stage, cases, work, trainers[done], out_zip, pretrained=weights)
        weights = final_checkpoint(out_zip, work / f"{stage}-round{done + 1}.pth")


def first_round(package_dir: Path, stage: str, trainer: str, n_cases: int, seed: int) -> Path:
    """The stage zip of a package whose stage is this recipe's first training (same trainer, same phantoms)."""
    manifest_file = package_dir / MANIFEST
    if not manifest_file.is_file():
        raise SystemExit(f"{package_dir}: no {MANIFEST}; give --first-round-from a package folder this recipe built")
    manifest = json.loads(manifest_file.read_text())
    entry, training = manifest["stages"].get(stage, {}), manifest.get("training", {})
    if entry.get("trainer") != trainer or entry.get("trained_after") or \
            (training.get("phantoms"), training.get("first_seed")) != (n_cases, seed):
        raise SystemExit(f"{package_dir}: its {stage} stage is not this recipe's first {stage} training "
                         f"({trainer} on {n_cases} phantoms from seed {seed}); leave out --first-round-from")
    return package_dir / entry["file"]


def final_checkpoint(stage_zip: Path, out: Path) -> Path:
    """The fold's checkpoint_final.pth from a stage zip written by nnUNetv2_export_model_to_zip."""
    with zipfile.ZipFile(stage_zip) as archive:
        name = next(n for n in archive.namelist() if n.endswith(f"/fold_all/{CHECKPOINT}"))
        out.write_bytes(archive.read(name))
    return out


def kept_stages(out_dir: Path, retrained: list[str], n_cases: int, seed: int) -> dict[str, dict]:
    """Manifest entries of out_dir's stages that are not retrained; they must come from the same phantoms."""
    manifest_file = out_dir / MANIFEST
    if not manifest_file.is_file():
        return {}
    manifest = json.loads(manifest_file.read_text())
    kept = {name: entry for name, entry in manifest["stages"].items() if name not in retrained}
    training = manifest.get("training", {})
    if kept and (training.get("phantoms"), training.get("first_seed")) != (n_cases, seed):
        raise SystemExit(f"{out_dir} was trained on other phantoms; rebuild all its stages or use a new folder")
    return kept


def dice(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


def evaluate(package_dir: Path, strategy: str) -> dict[str, float]:
    """Mean Dice per structure of a strategy on unseen phantoms."""
    scores: dict[str, list[float]] = {"liver": [], "crlm": [], "flr": []}
    with tempfile.TemporaryDirectory(prefix="flrseg-eval-") as tmp:
        package = open_package(package_dir, Path(tmp))
        engine = SegmentationEngine(package, strategy, torch.device("cpu"), Path(tmp))
        for seed in EVALUATION_SEEDS:
            ct, truth = make_phantom(seed)
            predicted = split_label_map(engine.segment(ct).label_map)
            expected = split_label_map(sitk.GetArrayFromImage(truth))
            for name in scores:
                scores[name].append(dice(predicted[name], expected[name]))
    return {name: round(float(np.mean(values)), 3) for name, values in scores.items()}


MODEL_CARD = """# Model card: {title} ({id} {version})

**Demo model - NOT FOR CLINICAL USE.** Trained on synthetic phantoms only; it has never seen a patient CT and its
output on one means nothing.

- Intended use: {intended_use}
- License: {license}. Citation: {citation}
- Strategies: {strategy_list}
- Architecture: nnU-Net v2 `3d_fullres` PlainConvUNet with features shrunk to {features} (about 1 MB per stage).
- Training: {phantoms} phantoms (seeds {first_seed}-{last_seed}) from `FLRSegmentationLib.research.phantom`, fold
  `all`, on the CPU, batch Dice, no mirroring, with nnunetv2's own planning, preprocessing, training and export;
  trainers (`FLRSegmentationLib/models/nnunet_trainers/demo_trainers.py`): {schedules}.
  Rebuild: `python Models/build_demo_models.py Models/{id}`.
- Stage inputs: liver `CT`; CRLM `CT, liver`; FLR `CT, liver, CRLM` (cropped to the liver box + 20 mm); E2E `CT`
  with regions liver {{1,2,3}}, CRLM {{2}}, FLR {{3}}. The engine keeps the E2E regions as separate masks and the
  post-processing rules decide what wins (FLR excludes CRLM). nnU-Net's own validation inside `e2e.zip`
  (`validation/summary.json`) writes the FLR region over the CRLM region, whose probability is also high inside the
  metastases, and so reports CRLM Dice 0.

## Accuracy on unseen phantoms (seeds {eval_first}-{eval_last}), mean Dice, measured {date}

| strategy | liver | CRLM | FLR |
| --- | --- | --- | --- |
{rows}
"""


def schedule(stage_entry: dict) -> str:
    """The stage's trainings in order, each after the first from the previous one's weights."""
    names = [*stage_entry.get("trained_after", []), stage_entry["trainer"]]
    steps = [f"`{name}` ({TRAINERS[name].EPOCHS} epochs x {TRAINERS[name].ITERATIONS} iterations)" for name in names]
    return " then, from its weights, ".join(steps)


def write_model_card(package_dir: Path) -> None:
    """Evaluate the package and write MODEL_CARD.md into it, then refresh the manifest's checksums."""
    manifest = json.loads((package_dir / MANIFEST).read_text())
    schedules = "; ".join(
        f"{name} {schedule(entry)}" for name, entry in manifest["stages"].items())
    rows = []
    for strategy in manifest["strategies"]:
        scores = evaluate(package_dir, strategy)
        rows.append(f"| {strategy} | {scores['liver']:.3f} | {scores['crlm']:.3f} | {scores['flr']:.3f} |")
    training = manifest["training"]
    card = MODEL_CARD.format(
        **manifest, strategy_list=", ".join(manifest["strategies"]) or "none", features=FEATURES[:5],
        phantoms=training["phantoms"], first_seed=training["first_seed"],
        last_seed=training["first_seed"] + training["phantoms"] - 1, schedules=schedules,
        eval_first=EVALUATION_SEEDS[0],
        eval_last=EVALUATION_SEEDS[-1], date=datetime.date.today().isoformat(), rows="\n".join(rows))
    (package_dir / "MODEL_CARD.md").write_text(card)
    write_manifest(package_dir, {k: v for k, v in manifest.items() if k != "files"})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="package folder to (re)write, e.g. Models/demo-phantom")
    parser.add_argument("--cases", type=int, default=16, help="number of training phantoms")
    parser.add_argument("--trainer", choices=list(TRAINERS), help="one trainer for every stage (default: the recipe's)")
    parser.add_argument("--stages", nargs="+", default=list(DATASET_IDS), choices=list(DATASET_IDS))
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument("--card-only", action="store_true", help="only re-evaluate and rewrite MODEL_CARD.md")
    parser.add_argument("--first-round-from", type=Path,
                        help="a package built by this recipe whose stages stand for the first training of stages "
                             "trained more than once")
    args = parser.parse_args(argv)
    if args.card_only:
        write_model_card(args.out_dir)
    else:
        build(args.out_dir, args.cases, args.stages, args.version, trainer=args.trainer,
              first_round_from=args.first_round_from)
    return 0


if __name__ == "__main__":
    sys.exit(main())
