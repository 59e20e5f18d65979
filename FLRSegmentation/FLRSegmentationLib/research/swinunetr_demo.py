"""The mixed demo package `demo-phantom-swinunetr`: the nnU-Net liver stage and the STU-Net CRLM stage of
Models/demo-phantom-stunet (copied as they are) with a SwinUNETR FLR stage (MONAI's network at feature size 12)
trained on the same phantoms, so a package holding a SwinUNETR stage is built and tested. Demo only: NOT FOR
CLINICAL USE.

The FLR stage goes through nnunetv2's real planning, preprocessing, training and export (demo_models.train_stage)
with our SwinUNETR trainer; it is stored inference-only with its weights in float16 and its position-index
buffers in int16 (inference loads both into the float32 network): MONAI's smallest SwinUNETR still has about 4
million parameters.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import torch

from .. import __version__
from ..models.checkpoint import load_checkpoint
from ..models.packages import MANIFEST, REPO_MODELS_DIR, StageModel, open_package, safe_extract, write_manifest
from .demo_models import CONFIGURATION, EVALUATION_SEEDS, PLANS, evaluate, train_stage
from .model_export import CHECKPOINT, complete_strategies, stage_entry
from .phantom import make_phantom
from .stunet_demo import INFERENCE_KEYS, MODEL_FILES

SWINUNETR_TRAINER = "SwinUNETRTrainer_demo"
SWINUNETR_STAGE = "flr"
KEPT_STAGES = ("liver", "crlm")  # taken from the STU-Net demo package
PACKAGE = {
    "id": "demo-phantom-swinunetr",
    "title": "Demo cascade mixing nnU-Net (liver), STU-Net (CRLM) and SwinUNETR (FLR), trained on synthetic phantoms",
    "license": "Apache-2.0",
    "citation": "FLR Segmentation demo models (phantoms). Not a published model. SwinUNETR: Hatamizadeh et al. 2022 "
                "(MONAI).",
    "intended_use": "Demo and testing only: trained on synthetic phantoms. NOT FOR CLINICAL USE.",
    "demo": True,
}


def compact(tensor: torch.Tensor) -> torch.Tensor:
    """float16 for weights; int16 for integer buffers that fit (the Swin blocks' relative position indices, 343 x 343
    int64 each, weigh as much as the weights). load_state_dict casts both back into the network's own dtypes."""
    if tensor.is_floating_point():
        return tensor.half()
    if tensor.dtype == torch.int64 and tensor.numel() and -2 ** 15 <= int(tensor.min()) <= int(tensor.max()) < 2 ** 15:
        return tensor.to(torch.int16)
    return tensor


def half_precision_stage(stage: StageModel, target: Path) -> None:
    """Zip a trained stage with what inference reads, its weights as float16 (compact)."""
    root = f"{stage.folder.parent.name}/{stage.folder.name}"
    with tempfile.TemporaryDirectory(prefix="flrseg-slim-") as tmp, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in MODEL_FILES:
            if (stage.folder / name).is_file():
                zf.write(stage.folder / name, f"{root}/{name}")
        for fold in stage.folds:
            checkpoint = load_checkpoint(stage.folder / f"fold_{fold}" / stage.checkpoint)
            slim = {k: checkpoint[k] for k in INFERENCE_KEYS if k in checkpoint}
            slim["network_weights"] = {k: compact(v) for k, v in slim["network_weights"].items()}
            torch.save(slim, Path(tmp) / f"{fold}.pth")
            zf.write(Path(tmp) / f"{fold}.pth", f"{root}/fold_{fold}/{stage.checkpoint}")


def build_swinunetr_demo(out_dir: Path, source_dir: Path, trainer: str = SWINUNETR_TRAINER,
                         version: str = "1.0.0") -> Path:
    """Train the SwinUNETR FLR stage on the source package's training phantoms and write the package."""
    with tempfile.TemporaryDirectory(prefix="flrseg-swinunetr-demo-") as tmp:
        work = Path(tmp)
        source = open_package(source_dir, work / "source")  # checks every sha256 first
        training = source.manifest["training"]
        seeds = range(training["first_seed"], training["first_seed"] + training["phantoms"])
        phantoms = [(f"phantom{seed:05d}", *make_phantom(seed)) for seed in seeds]
        staging = work / "package"
        staging.mkdir()
        entries = {}
        for name in KEPT_STAGES:
            entry = source.manifest["stages"][name]
            shutil.copyfile(source.root / entry["file"], staging / f"{name}.zip")
            entries[name] = dict(entry, file=f"{name}.zip")
        start = time.monotonic()
        train_stage(SWINUNETR_STAGE, phantoms, work, trainer, work / "trained.zip")
        minutes = round((time.monotonic() - start) / 60, 1)
        safe_extract(work / "trained.zip", work / "trained")
        folder = next((work / "trained").glob(f"*/{trainer}__{PLANS}__{CONFIGURATION}"))
        half_precision_stage(StageModel(SWINUNETR_STAGE, folder, trainer, ("all",), CHECKPOINT),
                             staging / f"{SWINUNETR_STAGE}.zip")
        entries[SWINUNETR_STAGE] = stage_entry(SWINUNETR_STAGE, f"{SWINUNETR_STAGE}.zip", trainer, PLANS,
                                               CONFIGURATION, ["all"], CHECKPOINT)
        write_manifest(staging, dict(PACKAGE, version=version, strategies=complete_strategies(entries),
                                     stages=dict(sorted(entries.items())),
                                     training={**training, "flrseg_version": __version__,
                                               "kept_stages_from": f"{source.id} {source.version}",
                                               "swinunetr_training_minutes": minutes}))
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
- Strategy: cascade. Liver (nnU-Net) and CRLM (STU-Net): the stages of `{kept_stages_from}`, copied (see its card).
  FLR: MONAI's SwinUNETR (`monai.networks.nets.SwinUNETR`, built by `FLRSegmentationLib/models/swinunetr/network.py`),
  {spec} ({parameters} parameters; not pretrained), trainer `{trainer}` ({epochs} epochs x {iterations}
  iterations, AdamW with warm-up and cosine decay, no mirroring, patch {patch}) on the same {phantoms} phantoms
  (seeds {first_seed}-{last_seed}), fold `all`, on the CPU ({minutes} minutes on 2 shared cores), with nnunetv2's
  own planning, preprocessing, training and export.
- Checkpoints are stored inference-only (network weights, no optimizer state); the SwinUNETR weights in float16,
  its position indices in int16.
  Rebuild: `python Models/build_swinunetr_demo.py Models/{id}`.

## Accuracy on unseen phantoms (seeds {eval_first}-{eval_last}), mean Dice, measured {date}

| strategy | liver | CRLM | FLR |
| --- | --- | --- | --- |
| cascade | {liver:.3f} | {crlm:.3f} | {flr:.3f} |
"""


def write_model_card(package_dir: Path) -> None:
    """Evaluate the package on unseen phantoms, write MODEL_CARD.md, refresh the manifest's checksums."""
    from ..models.nnunet_trainers import swinunetr_trainers

    manifest = json.loads((package_dir / MANIFEST).read_text())
    training = manifest["training"]
    trainer = getattr(swinunetr_trainers, manifest["stages"][SWINUNETR_STAGE]["trainer"])
    with tempfile.TemporaryDirectory(prefix="flrseg-card-") as tmp:
        stage = open_package(package_dir, Path(tmp)).stage(SWINUNETR_STAGE, Path(tmp) / "unpacked")
        weights = load_checkpoint(stage.folder / f"fold_{stage.folds[0]}" / stage.checkpoint)["network_weights"]
        config = json.loads((stage.folder / "plans.json").read_text())["configurations"][CONFIGURATION]
    spec = config["swinunetr"]
    card = MODEL_CARD.format(
        **manifest, spec=f"feature size {spec['feature_size']}, {'v2' if spec['use_v2'] else 'v1'}, depths "
                         f"{spec['depths']}", parameters=f"{sum(w.numel() for w in weights.values() if w.is_floating_point()):,}",
        trainer=trainer.__name__, epochs=trainer.EPOCHS, iterations=trainer.ITERATIONS,
        patch="x".join(map(str, config["patch_size"])), phantoms=training["phantoms"],
        first_seed=training["first_seed"], last_seed=training["first_seed"] + training["phantoms"] - 1,
        minutes=training["swinunetr_training_minutes"], kept_stages_from=training["kept_stages_from"],
        eval_first=EVALUATION_SEEDS[0], eval_last=EVALUATION_SEEDS[-1], date=datetime.date.today().isoformat(),
        **evaluate(package_dir, "cascade"))
    (package_dir / "MODEL_CARD.md").write_text(card)
    write_manifest(package_dir, {k: v for k, v in manifest.items() if k != "files"})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="package folder to (re)write, e.g. Models/demo-phantom-swinunetr")
    parser.add_argument("--source", type=Path, default=REPO_MODELS_DIR / "demo-phantom-stunet",
                        help="the demo package whose liver and CRLM stages are copied")
    parser.add_argument("--trainer", default=SWINUNETR_TRAINER, help="SwinUNETR trainer of the FLR stage")
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument("--card-only", action="store_true", help="only re-evaluate and rewrite MODEL_CARD.md")
    args = parser.parse_args(argv)
    if args.card_only:
        write_model_card(args.out_dir)
    else:
        build_swinunetr_demo(args.out_dir, args.source, trainer=args.trainer, version=args.version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
