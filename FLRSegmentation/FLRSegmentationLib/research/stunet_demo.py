"""The mixed demo package `demo-phantom-stunet`: the nnU-Net liver and FLR stages of Models/demo-phantom with a
tiny STU-Net CRLM stage trained on the same phantoms, so a package that mixes both kinds of stage is built, tested
and shipped (the seed paper found a pretrained STU-Net best for CRLM). Demo only: NOT FOR CLINICAL USE.

The CRLM stage goes through nnunetv2's real planning, preprocessing, training and export (demo_models.train_stage)
with our STU-Net trainer. Every stage is stored inference-only (the network weights without the optimizer state,
no training plots), which keeps the package under 2 MB.
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

import torch

from .. import __version__
from ..models.checkpoint import load_checkpoint
from ..models.packages import MANIFEST, REPO_MODELS_DIR, StageModel, open_package, safe_extract, write_manifest
from ..models.stunet.network import SIZES
from .demo_models import CONFIGURATION, EVALUATION_SEEDS, PHANTOM_DOMAIN, PLANS, evaluate, train_stage
from .model_export import CHECKPOINT, complete_strategies, stage_entry
from .phantom import make_phantom

STUNET_TRAINER = "STUNetTrainer_demo"
NNUNET_STAGES = ("liver", "flr")  # taken from the nnU-Net demo package
INFERENCE_KEYS = ("network_weights", "init_args", "trainer_name", "inference_allowed_mirroring_axes")
MODEL_FILES = ("plans.json", "dataset.json", "dataset_fingerprint.json")
PACKAGE = {
    "id": "demo-phantom-stunet",
    "title": "Demo cascade mixing nnU-Net (liver, FLR) and STU-Net (CRLM), trained on synthetic phantoms",
    "license": "Apache-2.0",
    "citation": "FLR Segmentation demo models (phantoms). Not a published model. STU-Net: Huang et al. 2023.",
    "intended_use": "Demo and testing only: trained on synthetic phantoms. NOT FOR CLINICAL USE.",
    "demo": True,
}


def inference_only_stage(stage: StageModel, target: Path) -> None:
    """Zip a trained stage with what inference reads: its plans, dataset and fingerprint, and per fold a checkpoint
    holding only INFERENCE_KEYS (read with weights_only=True, so nothing else is carried over)."""
    root = f"{stage.folder.parent.name}/{stage.folder.name}"
    with tempfile.TemporaryDirectory(prefix="flrseg-slim-") as tmp, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in MODEL_FILES:
            if (stage.folder / name).is_file():
                zf.write(stage.folder / name, f"{root}/{name}")
        for fold in stage.folds:
            checkpoint = load_checkpoint(stage.folder / f"fold_{fold}" / stage.checkpoint)
            slim = Path(tmp) / f"{fold}.pth"
            torch.save({k: checkpoint[k] for k in INFERENCE_KEYS if k in checkpoint}, slim)
            zf.write(slim, f"{root}/fold_{fold}/{stage.checkpoint}")


def build_stunet_demo(out_dir: Path, demo_dir: Path, trainer: str = STUNET_TRAINER, version: str = "1.0.0") -> Path:
    """Train the STU-Net CRLM stage on the nnU-Net demo package's training phantoms and write the package."""
    with tempfile.TemporaryDirectory(prefix="flrseg-stunet-demo-") as tmp:
        work = Path(tmp)
        demo = open_package(demo_dir, work / "demo")  # checks every sha256 first
        training = demo.manifest["training"]
        seeds = range(training["first_seed"], training["first_seed"] + training["phantoms"])
        phantoms = [(f"phantom{seed:05d}", *make_phantom(seed)) for seed in seeds]
        staging = work / "package"
        staging.mkdir()
        entries = {}
        for name in NNUNET_STAGES:
            inference_only_stage(demo.stage(name, work / "unpacked"), staging / f"{name}.zip")
            entries[name] = dict(demo.manifest["stages"][name], file=f"{name}.zip")
        train_stage("crlm", phantoms, work, trainer, work / "crlm.zip")
        safe_extract(work / "crlm.zip", work / "crlm")
        folder = next((work / "crlm").glob(f"*/{trainer}__{PLANS}__{CONFIGURATION}"))
        inference_only_stage(StageModel("crlm", folder, trainer, ("all",), CHECKPOINT), staging / "crlm.zip")
        entries["crlm"] = stage_entry("crlm", "crlm.zip", trainer, PLANS, CONFIGURATION, ["all"], CHECKPOINT)
        write_manifest(staging, dict(PACKAGE, domain=PHANTOM_DOMAIN, version=version,
                                     strategies=complete_strategies(entries), stages=dict(sorted(entries.items())),
                                     training={**training, "flrseg_version": __version__,
                                               "nnunet_stages_from": f"{demo.id} {demo.version}"}))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        shutil.copytree(staging, out_dir)
    write_model_card(out_dir)  # after the copy: a failing evaluation can't cost the trained package
    return out_dir


MODEL_CARD = """# Model card: {title} ({id} {version})

**Demo model - NOT FOR CLINICAL USE.** Trained on synthetic phantoms only; it has never seen a patient CT and its
output on one means nothing.

- Intended use: {intended_use}
- License: {license}. Citation: {citation}
- Strategy: cascade. Liver and FLR: the nnU-Net stages of `{nnunet_stages_from}` (see its card). CRLM: STU-Net
  (`FLRSegmentationLib/models/stunet/network.py`, written from the published description) at our CPU size "demo", widths
  {dims}, one residual block per stage ({parameters} parameters; not a published size, not pretrained), trainer
  `{trainer}` ({epochs} epochs x {iterations} iterations, no mirroring) on the same {phantoms} phantoms (seeds
  {first_seed}-{last_seed}), fold `all`, on the CPU, with nnunetv2's own planning, preprocessing, training and export.
- Checkpoints are stored inference-only (network weights, no optimizer state).
  Rebuild: `python Models/build_stunet_demo.py Models/{id}`.

## Accuracy on unseen phantoms (seeds {eval_first}-{eval_last}), mean Dice, measured {date}

| strategy | liver | CRLM | FLR |
| --- | --- | --- | --- |
| cascade | {liver:.3f} | {crlm:.3f} | {flr:.3f} |
"""


def write_model_card(package_dir: Path) -> None:
    """Evaluate the package on unseen phantoms, write MODEL_CARD.md, refresh the manifest's checksums."""
    from ..models.nnunet_trainers import stunet_trainers

    manifest = json.loads((package_dir / MANIFEST).read_text())
    training = manifest["training"]
    trainer = getattr(stunet_trainers, manifest["stages"]["crlm"]["trainer"])
    with tempfile.TemporaryDirectory(prefix="flrseg-card-") as tmp:
        stage = open_package(package_dir, Path(tmp)).stage("crlm", Path(tmp) / "unpacked")
        weights = load_checkpoint(stage.folder / f"fold_{stage.folds[0]}" / stage.checkpoint)["network_weights"]
    card = MODEL_CARD.format(
        **manifest, dims=list(SIZES["demo"].dims), parameters=f"{sum(w.numel() for w in weights.values()):,}",
        trainer=trainer.__name__, epochs=trainer.EPOCHS, iterations=trainer.ITERATIONS,
        phantoms=training["phantoms"], first_seed=training["first_seed"],
        last_seed=training["first_seed"] + training["phantoms"] - 1, nnunet_stages_from=training["nnunet_stages_from"],
        eval_first=EVALUATION_SEEDS[0], eval_last=EVALUATION_SEEDS[-1], date=datetime.date.today().isoformat(),
        **evaluate(package_dir, "cascade"))
    (package_dir / "MODEL_CARD.md").write_text(card)
    write_manifest(package_dir, {k: v for k, v in manifest.items() if k != "files"})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="package folder to (re)write, e.g. Models/demo-phantom-stunet")
    parser.add_argument("--demo", type=Path, default=REPO_MODELS_DIR / "demo-phantom",
                        help="the nnU-Net demo package whose liver and FLR stages are reused")
    parser.add_argument("--trainer", default=STUNET_TRAINER, help="STU-Net trainer of the CRLM stage")
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument("--card-only", action="store_true", help="only re-evaluate and rewrite MODEL_CARD.md")
    args = parser.parse_args(argv)
    if args.card_only:
        write_model_card(args.out_dir)
    else:
        build_stunet_demo(args.out_dir, args.demo, trainer=args.trainer, version=args.version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
