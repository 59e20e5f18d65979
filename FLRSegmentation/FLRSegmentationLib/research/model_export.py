"""`flrseg export`: trained nnU-Net stages -> one model package zip that the engine and the Slicer module install.

Each source is a trained model folder (`Trainer__Plans__configuration`, or a results folder holding exactly one)
or a zip written by `nnUNetv2_export_model_to_zip`. Its stage is recognised from its dataset.json (the labels and
the number of input channels are what `packages` checks against the engine's stage code), its folds from the
`fold_X/checkpoint_final.pth` files, and its plans are checked against models.plan_check's allow-lists before
anything is written. The package is assembled in a private temporary folder, zipped under a
temporary name beside the output, opened again with `packages.open_package` and every stage's networks built from
their checkpoints (as `flrseg segment` will), and only then moved into place: a failed export leaves nothing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

from .. import __version__
from ..errors import InputError, ModelError
from ..models.packages import MANIFEST, PACKAGE_ID, open_package, write_manifest
from ..models.plan_check import check_stage_plans
from ..vocabulary.stages import STAGES, STRATEGIES

CHECKPOINT = "checkpoint_final.pth"
MODEL_FILES = ("plans.json", "dataset.json", "dataset_fingerprint.json")  # beside the fold folders
FOLD_EXTRAS = ("validation/summary.json",)  # the fold's own validation scores, kept when present
DEFAULT_INTENDED_USE = "Research use only; not validated for clinical use."


@dataclass(frozen=True)
class PackageInfo:
    """The manifest's descriptive fields."""

    id: str
    version: str
    title: str
    license: str
    citation: str
    intended_use: str
    demo: bool = False


@dataclass(frozen=True)
class TrainedStage:
    """One trained nnU-Net model, recognised as one of the engine's stages."""

    stage: str
    source: Path  # the trained model folder, or the export zip
    dataset: str  # the nnU-Net dataset it was trained on (the folder above the model folder)
    trainer: str
    plans: str
    configuration: str
    folds: tuple


def stage_entry(stage: str, file: str, trainer: str, plans: str, configuration: str, folds, checkpoint: str) -> dict:
    """A manifest `stages` entry: what to load, and the channels and labels the engine's stage code expects."""
    spec = STAGES[stage]
    return {"file": file, "configuration": configuration, "trainer": trainer, "plans": plans, "folds": list(folds),
            "checkpoint": checkpoint, "input_channels": list(spec.channels), "labels": spec.labels}


def complete_strategies(stages) -> dict[str, list[str]]:
    """The strategies whose every stage is present."""
    return {name: list(needed) for name, needed in STRATEGIES.items() if all(s in stages for s in needed)}


def recognise_stage(dataset: dict, where: str) -> str:
    """The engine stage whose labels and number of input channels the dataset.json has."""
    channels = dataset.get("channel_names")
    if not isinstance(channels, dict):
        raise InputError(f"{where}: its dataset.json has no 'channel_names' (an nnU-Net v1 'modality' file?); "
                         f"export models trained with nnU-Net v2")
    for name, spec in STAGES.items():
        if dataset.get("labels") == spec.labels and len(channels) == len(spec.channels):
            return name
    known = "; ".join(f"{name}: channels {', '.join(spec.channels)}, labels {spec.labels}"
                      for name, spec in STAGES.items())
    raise InputError(f"{where}: its dataset.json (labels {dataset.get('labels')}, {len(channels)} channel(s)) fits "
                     f"none of the engine's stages ({known}); train on a dataset written by flrseg prepare-dataset")


def _split_model_name(name: str, where: str) -> tuple[str, str, str]:
    parts = name.split("__")
    if len(parts) != 3 or not all(parts):
        raise InputError(f"{where}: '{name}' is not an nnU-Net trained model folder name "
                         f"(Trainer__Plans__configuration)")
    return parts[0], parts[1], parts[2]


def _folds(names: set[str], where: str) -> tuple:
    """The fold_X folders, each of which must hold checkpoint_final.pth; numeric folds first, in order."""
    fold_dirs = {n.split("/")[0] for n in names if n.startswith("fold_") and "/" in n}
    unfinished = sorted(d for d in fold_dirs if f"{d}/{CHECKPOINT}" not in names)
    if unfinished:
        raise InputError(f"{where}: {', '.join(unfinished)} has no {CHECKPOINT} (training unfinished?); finish the "
                         f"training of that fold (flrseg train ... --fold N) before exporting")
    if not fold_dirs:
        raise InputError(f"{where}: no fold_X/{CHECKPOINT}; this model has not been trained yet")
    folds = [d[len("fold_"):] for d in fold_dirs]
    return tuple(sorted((int(f) for f in folds if f.isdigit()))) + tuple(sorted(f for f in folds if not f.isdigit()))


def _model_folder(source: Path) -> Path:
    """The trained model folder at or under `source`: the one folder holding plans.json beside fold_X folders."""
    found = sorted({p.parent for p in source.rglob("plans.json") if any(p.parent.glob("fold_*"))})
    if len(found) != 1:
        listed = ", ".join(str(p.relative_to(source)) for p in found) or "none"
        raise InputError(f"{source}: expected one trained nnU-Net model folder (plans.json and fold_X) in it, found "
                         f"{len(found)} ({listed}); give the Trainer__Plans__configuration folder you mean")
    return found[0]


def _parse_json(text: bytes | str | None, where: str, name: str = "dataset.json") -> dict:
    try:
        data = json.loads(text) if text is not None else None
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise InputError(f"{where}: the trained model has no readable {name}")
    return data


def read_trained_stage(source: Path) -> TrainedStage:
    """Recognise a trained model folder or export zip, without unpacking anything."""
    source, where = Path(source), str(source)
    if source.is_dir():
        source = _model_folder(source)
        names = {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()}
        text = (source / "dataset.json").read_text() if "dataset.json" in names else None
        plans_text = (source / "plans.json").read_text()
        model = PurePosixPath(source.as_posix())
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            roots = sorted({PurePosixPath(n).parent for n in zf.namelist() if PurePosixPath(n).name == "plans.json"})
            if len(roots) != 1:
                raise InputError(f"{source}: expected one trained model (one plans.json) in the zip, found "
                                 f"{len(roots)}; export one configuration and trainer per zip")
            model = roots[0]
            prefix = f"{model}/"
            names = {n[len(prefix):] for n in zf.namelist() if n.startswith(prefix) and not n.endswith("/")}
            text = zf.read(prefix + "dataset.json") if "dataset.json" in names else None
            plans_text = zf.read(prefix + "plans.json")
    else:
        raise InputError(f"{source}: not a trained nnU-Net model folder nor a zip from nnUNetv2_export_model_to_zip")
    stage = recognise_stage(_parse_json(text, where), where)
    trainer, plans, configuration = _split_model_name(model.name, where)
    check_stage_plans(_parse_json(plans_text, where, "plans.json"), configuration, trainer, where)
    return TrainedStage(stage, source, model.parent.name, trainer, plans, configuration, _folds(names, where))


def _pack_folder(trained: TrainedStage, target: Path) -> None:
    """Zip what inference needs from a trained model folder, in the layout nnUNetv2_export_model_to_zip uses."""
    folder = trained.source
    wanted = [name for name in MODEL_FILES if (folder / name).is_file()]
    for fold in trained.folds:
        wanted += [f"fold_{fold}/{name}" for name in (CHECKPOINT, *FOLD_EXTRAS)
                   if (folder / f"fold_{fold}" / name).is_file()]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in wanted:
            zf.write(folder / name, f"{trained.dataset}/{folder.name}/{name}")


def _zip_package(root: Path, target: Path) -> None:
    """The package folder as one zip; inner zips are stored, not compressed twice."""
    with zipfile.ZipFile(target, "x") as zf:  # a new file, with the user's usual permissions
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            method = zipfile.ZIP_STORED if path.suffix == ".zip" else zipfile.ZIP_DEFLATED
            zf.write(path, f"{root.name}/{path.relative_to(root).as_posix()}", compress_type=method)


def verify_package(package_zip: Path, scratch: Path) -> None:
    """Open the package as `flrseg segment` does and build every stage's networks from its checkpoints."""
    import torch

    from ..inference.stage_predictor import StagePredictor

    package = open_package(package_zip, scratch)
    for name in package.manifest["stages"]:
        StagePredictor(package.stage(name, scratch / "stages"), torch.device("cpu"))


def check_request(sources: list[Path], output: Path, info: PackageInfo) -> list[TrainedStage]:
    """Everything about the request that can be wrong, checked before anything is written."""
    if not PACKAGE_ID.match(info.id):
        raise InputError(f"--id '{info.id}': use letters, digits, '.', '_' and '-' only, starting with a letter or "
                         f"digit (it becomes the installed model's folder name)")
    if not info.version.strip():
        raise InputError("--version must not be empty (e.g. 1.0.0)")
    if output.suffix.lower() != ".zip":
        raise InputError(f"-o {output}: the package is a zip file; give a name ending in .zip")
    if output.exists():
        raise InputError(f"-o {output} exists; remove it or choose another name (an export never overwrites)")
    trained = [read_trained_stage(s) for s in sources]
    seen: dict[str, Path] = {}
    for t in trained:
        if t.stage in seen:
            raise InputError(f"{seen[t.stage]} and {t.source} are both a '{t.stage}' stage; give one model per stage")
        seen[t.stage] = t.source
    if not complete_strategies(seen):
        needed = "; ".join(f"{name}: {', '.join(stages)}" for name, stages in STRATEGIES.items())
        raise InputError(f"the stages given ({', '.join(seen)}) make no complete strategy ({needed})")
    return trained


def export_package(sources: list[Path], output: Path, info: PackageInfo) -> dict:
    """Write the package zip at `output` and return its manifest."""
    output = Path(output)
    trained = check_request(sources, output, info)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="flrseg-export-") as tmp:
        root = Path(tmp) / info.id
        root.mkdir()
        entries = {}
        for t in trained:
            file = f"{t.stage}.zip"
            if t.source.is_dir():
                _pack_folder(t, root / file)
            else:
                shutil.copyfile(t.source, root / file)
            entries[t.stage] = stage_entry(t.stage, file, t.trainer, t.plans, t.configuration, t.folds, CHECKPOINT)
        manifest = {
            "id": info.id, "title": info.title, "version": info.version, "license": info.license,
            "citation": info.citation, "intended_use": info.intended_use, "demo": info.demo,
            "strategies": complete_strategies(entries), "stages": dict(sorted(entries.items())),
            "training": {"datasets": {t.stage: t.dataset for t in trained}, "flrseg_version": __version__,
                         "nnunetv2_version": metadata.version("nnunetv2")},
        }
        write_manifest(root, manifest)
        partial = output.with_name(f".{output.name}.partial-{secrets.token_hex(4)}")
        try:
            _zip_package(root, partial)
            try:
                verify_package(partial, Path(tmp) / "verify")
            except ModelError as exc:
                raise ModelError(f"the exported package does not load: {exc}") from None
            os.replace(partial, output)
        finally:
            partial.unlink(missing_ok=True)
        return json.loads((root / MANIFEST).read_text())
