"""Model packages: a manifest plus one nnU-Net v2 trained model (folder or export zip) per stage.

A package is a folder (or a zip of one) holding `manifest.json`:
  id, title, version, license, citation, intended_use, demo (bool),
  strategies: {"cascade": ["liver", "crlm", "flr"], "e2e": ["e2e"]} (one or both),
  stages: {name: {file, configuration, trainer, plans, folds, checkpoint, input_channels, labels}},
  files: {relative path: sha256} for every other file of the package.
Every file is checked against its sha256 before use, zip entries that would land outside their folder are
refused, and each stage's channels and labels must be exactly those the engine's stage code feeds and reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError
from ..vocabulary.stages import STAGES, STRATEGIES

MANIFEST = "manifest.json"
PACKAGE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # an id names the installed package's folder
REQUIRED_KEYS = ("id", "title", "version", "license", "citation", "intended_use", "strategies", "stages", "files")
REPO_MODELS_DIR = Path(__file__).resolve().parents[3] / "Models"


def models_dir() -> Path:
    """Where the registry lives: $FLRSEG_MODELS_DIR, else the repository's Models/ folder."""
    return Path(os.environ.get("FLRSEG_MODELS_DIR", REPO_MODELS_DIR))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path, manifest: dict) -> None:
    """Write manifest.json with the sha256 of every other file in the folder."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest = dict(manifest, files={p.relative_to(folder).as_posix(): sha256_file(p) for p in files})
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def safe_extract(archive: Path, target: Path) -> None:
    """Extract a zip, refusing any entry that is absolute, climbs out of target, or is a link."""
    target = target.resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                dest = (target / info.filename).resolve()
                if info.filename.startswith(("/", "\\")) or not dest.is_relative_to(target):
                    raise ModelError(f"{archive.name}: refusing zip entry '{info.filename}' that would land outside "
                                     f"the model folder; the archive is unsafe, get the model from its source again")
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise ModelError(f"{archive.name}: refusing symbolic link '{info.filename}' in the archive")
            zf.extractall(target)
    except zipfile.BadZipFile:
        raise ModelError(f"{archive}: not a valid zip file (damaged or incomplete download?)") from None


@dataclass(frozen=True)
class StageModel:
    """One stage of a package, ready for nnunetv2: the trained model folder and what to load from it."""

    name: str
    folder: Path  # Trainer__Plans__configuration, holding plans.json, dataset.json, fold_X/
    trainer: str
    folds: tuple
    checkpoint: str


@dataclass(frozen=True)
class ModelPackage:
    root: Path
    manifest: dict

    @property
    def id(self) -> str:
        return self.manifest["id"]

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def is_demo(self) -> bool:
        return bool(self.manifest.get("demo", False))

    def label(self) -> str:
        """How reports name the model; demo models say they are not for clinical use."""
        text = f"{self.id} {self.version}"
        return text + " (demo - not for clinical use)" if self.is_demo else text

    def strategy_stages(self, strategy: str) -> list[str]:
        strategies = self.manifest["strategies"]
        if strategy not in strategies:
            raise ModelError(f"model '{self.id}' has no '{strategy}' strategy; it has: {', '.join(strategies)}")
        return list(strategies[strategy])

    def stage(self, name: str, unpack_dir: Path) -> StageModel:
        """Unpack (if zipped) and check one stage; unpack_dir must be a private folder of the caller's."""
        entry = self.manifest["stages"][name]
        source = self.root / entry["file"]
        if source.is_file():
            safe_extract(source, unpack_dir / name)
            source = unpack_dir / name
        wanted = f"{entry['trainer']}__{entry['plans']}__{entry['configuration']}"
        found = [p for p in source.rglob(wanted) if (p / "plans.json").is_file()] or (
            [source] if (source / "plans.json").is_file() else [])
        if not found:
            raise ModelError(f"model '{self.id}', stage '{name}': no trained model folder '{wanted}' with a "
                             f"plans.json in {entry['file']}")
        folder = found[0]
        _check_stage_dataset(self.id, name, entry, folder)
        folds = tuple(entry.get("folds", ["all"]))
        for fold in folds:
            if not (folder / f"fold_{fold}" / entry["checkpoint"]).is_file():
                raise ModelError(f"model '{self.id}', stage '{name}': fold_{fold}/{entry['checkpoint']} is missing")
        return StageModel(name, folder, entry["trainer"], folds, entry["checkpoint"])


def _check_stage_dataset(model_id: str, name: str, entry: dict, folder: Path) -> None:
    spec = STAGES[name]
    where = f"model '{model_id}', stage '{name}'"
    if tuple(entry["input_channels"]) != spec.channels:
        raise ModelError(f"{where} expects input channels {entry['input_channels']}, but this engine feeds "
                         f"{list(spec.channels)}; the package was made for another version of FLR Segmentation")
    dataset = json.loads((folder / "dataset.json").read_text())
    channels = dataset.get("channel_names", dataset.get("modality", {}))
    if len(channels) != len(spec.channels):
        raise ModelError(f"{where}: its network takes {len(channels)} input channel(s), the stage needs "
                         f"{len(spec.channels)} ({', '.join(spec.channels)})")
    if dataset.get("labels") != spec.labels or entry["labels"] != spec.labels:
        raise ModelError(f"{where}: labels {dataset.get('labels')} differ from the stage's {spec.labels}")


def _check_manifest(manifest: dict, where: str) -> None:
    missing = [k for k in REQUIRED_KEYS if k not in manifest]
    if missing:
        raise ModelError(f"{where}: manifest.json lacks {', '.join(missing)}; not a valid FLR Segmentation package")
    for strategy, stages in manifest["strategies"].items():
        if tuple(stages) != STRATEGIES.get(strategy):
            raise ModelError(f"{where}: strategy '{strategy}' must have stages {STRATEGIES.get(strategy)}, "
                             f"the manifest lists {stages}")
        for stage in stages:
            if stage not in manifest["stages"]:
                raise ModelError(f"{where}: strategy '{strategy}' needs stage '{stage}', which the manifest lacks")


def _verify_files(root: Path, manifest: dict) -> None:
    for rel, expected in manifest["files"].items():
        path = (root / rel).resolve()
        if not path.is_relative_to(root.resolve()) or not path.is_file():
            raise ModelError(f"model '{manifest['id']}': file '{rel}' listed in manifest.json is missing")
        if sha256_file(path) != expected:
            raise ModelError(f"model '{manifest['id']}': '{rel}' fails its sha256 check (damaged or altered); "
                             f"reinstall the model")


def open_package(path: Path, unpack_dir: Path) -> ModelPackage:
    """Open a package folder or zip, verify its manifest and the sha256 of every file."""
    path = Path(path)
    if path.is_file():
        safe_extract(path, unpack_dir / "package")
        roots = [p.parent for p in (unpack_dir / "package").rglob(MANIFEST)]
        if len(roots) != 1:
            raise ModelError(f"{path}: expected one manifest.json in the zip, found {len(roots)}; "
                             f"not a FLR Segmentation model package")
        root = roots[0]
    elif (path / MANIFEST).is_file():
        root = path
    else:
        raise ModelError(f"{path}: not a model package (no manifest.json); give a package folder or zip, "
                         f"or a model id from the registry")
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: manifest.json is not valid JSON ({exc})") from None
    _check_manifest(manifest, str(path))
    _verify_files(root, manifest)
    return ModelPackage(root, manifest)


def load_registry() -> list[dict]:
    registry = models_dir() / "registry.json"
    if not registry.is_file():
        return []
    return json.loads(registry.read_text())["models"]


def resolve_model(ref: str, unpack_dir: Path) -> ModelPackage:
    """`ref` is a path to a package folder or zip, or the id of a registry model that is available locally."""
    if os.sep in ref or ref.endswith(".zip") or Path(ref).exists():
        if not Path(ref).exists():
            raise ModelError(f"model path '{ref}' does not exist")
        return open_package(Path(ref), unpack_dir)
    entries = {e["id"]: e for e in load_registry()}
    if ref not in entries:
        raise ModelError(f"unknown model id '{ref}'; known: {', '.join(entries) or 'none'} "
                         f"(or give the path of a package folder or zip)")
    local = models_dir() / entries[ref]["path"]
    if not local.exists():
        raise ModelError(f"model '{ref}' is not installed at {local}; install it with the module's model manager")
    return open_package(local, unpack_dir)
