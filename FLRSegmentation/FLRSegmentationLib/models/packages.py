"""Model packages: a manifest plus one nnU-Net v2 trained model (folder or export zip) per stage.

A package is a folder (or a zip of one) holding `manifest.json`:
  id, title, version, license, citation, intended_use, demo (bool),
  strategies: {"cascade": ["liver", "crlm", "flr"], "e2e": ["e2e"]} (one or both),
  stages: {name: {file, configuration, trainer, plans, folds, checkpoint, input_channels, labels}},
  files: {relative path: sha256} for every other file of the package.
Every file is checked against its sha256 before use and a stage may only use files `files` lists; zip entries
that would land outside their folder, links, repeated names and zip bombs are refused; each stage's plans are
checked against plan_check's allow-lists (plans are data, never code); and each stage's channels and labels must be
exactly those the engine's stage code feeds and reads.
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
from ..vocabulary.stages import STAGES
from .manifest_check import check_manifest, check_stage_entry, safe_relative

MANIFEST = "manifest.json"
PACKAGE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # an id names the installed package's folder
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


MAX_UNPACKED_BYTES = int(float(os.environ.get("FLRSEG_MAX_UNPACKED_GB", "32")) * 2 ** 30)
MAX_RATIO = 50  # checkpoints compress ~1.2x; a zip bomb expands hundreds of times
RATIO_FREE_BYTES = 64 * 2 ** 20  # small archives of JSON may compress well


def _check_entries(archive: Path, infos: list, target: Path) -> None:
    """Refuse entries that land outside target, links, repeated names, a name that is both file and folder, and
    archives that would expand beyond the caps."""
    seen: set[str] = set()
    for info in infos:
        dest = (target / info.filename).resolve()
        if info.filename.startswith(("/", "\\")) or "\\" in info.filename or not dest.is_relative_to(target):
            raise ModelError(f"{archive.name}: refusing zip entry '{info.filename}' that would land outside "
                             f"the model folder; the archive is unsafe, get the model from its source again")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise ModelError(f"{archive.name}: refusing symbolic link '{info.filename}' in the archive")
        name = info.filename.rstrip("/")
        if name in seen:
            raise ModelError(f"{archive.name}: refusing the archive, it holds '{name}' twice (which one would win "
                             f"is not checked); get the model from its source again")
        seen.add(name)
    folders = {"/".join(n.split("/")[:i]) for n in seen for i in range(1, n.count("/") + 1)}
    clash = sorted(folders & {i.filename for i in infos if not i.is_dir()})
    if clash:
        raise ModelError(f"{archive.name}: refusing the archive, '{clash[0]}' is both a file and a folder in it")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED_BYTES or (total > RATIO_FREE_BYTES and total > MAX_RATIO * archive.stat().st_size):
        raise ModelError(f"{archive.name}: refusing to unpack {total / 2 ** 30:.1f} GiB from a "
                         f"{archive.stat().st_size / 2 ** 20:.1f} MiB archive (caps: {MAX_RATIO}x and "
                         f"FLRSEG_MAX_UNPACKED_GB={MAX_UNPACKED_BYTES / 2 ** 30:g}); the archive is unsafe")


def safe_extract(archive: Path, target: Path) -> None:
    """Extract a zip, refusing any entry that is absolute, climbs out of target, is a link or a repeated name,
    and archives that expand beyond the caps."""
    target = target.resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            _check_entries(archive, zf.infolist(), target)
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
        """Unpack (if zipped) and check one stage, its plans included, before any network is built; unpack_dir
        must be a private folder of the caller's."""
        where = f"model '{self.id}', stage '{name}'"
        if name not in STAGES:
            raise ModelError(f"{where}: not a stage of this engine ({', '.join(STAGES)})")
        entry = self.manifest["stages"].get(name)
        check_stage_entry(entry, where, self.manifest["files"])
        source = self.root / entry["file"]
        if source.is_file():
            safe_extract(source, unpack_dir / name)
            source = unpack_dir / name
        else:
            _check_folder_listed(self.root, entry["file"], self.manifest["files"], where)
        wanted = f"{entry['trainer']}__{entry['plans']}__{entry['configuration']}"
        found = [p for p in source.rglob(wanted) if (p / "plans.json").is_file()] or (
            [source] if (source / "plans.json").is_file() else [])
        if not found:
            raise ModelError(f"{where}: no trained model folder '{wanted}' with a plans.json in {entry['file']}")
        folder = found[0]
        _check_stage_dataset(where, name, entry, read_json(folder / "dataset.json", where))
        from .plan_check import check_stage_plans  # here: it imports torch, which the Slicer GUI process never does
        check_stage_plans(read_json(folder / "plans.json", where), entry["configuration"], entry["trainer"], where)
        folds = tuple(entry.get("folds", ["all"]))
        for fold in folds:
            checkpoint = folder / f"fold_{fold}" / entry["checkpoint"]
            if not checkpoint.is_file() or checkpoint.is_symlink():
                raise ModelError(f"{where}: fold_{fold}/{entry['checkpoint']} is missing")
        return StageModel(name, folder, entry["trainer"], folds, entry["checkpoint"])


def read_json(path: Path, where: str) -> dict:
    """A package's JSON file as a dict, or a one-line refusal naming it."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"{where}: {path.name} is missing") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{where}: {path.name} is not valid JSON ({str(exc)[:80]})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{where}: {path.name} must hold a JSON object")
    return data


def _check_folder_listed(root: Path, rel: str, files: dict, where: str) -> None:
    """A stage given as a folder: every file under it must be listed (so hashed) and no link may be in it."""
    folder = root / rel
    if folder.is_symlink() or not folder.is_dir():
        raise ModelError(f"{where}: its file '{rel}' is missing")
    for path in folder.rglob("*"):
        listed = path.relative_to(root).as_posix()
        if path.is_symlink() or (path.is_file() and listed not in files):
            raise ModelError(f"{where}: '{listed}' is not listed (with its sha256) in the manifest's 'files'; "
                             f"a package may only use files it lists")


def _check_stage_dataset(where: str, name: str, entry: dict, dataset: dict) -> None:
    spec = STAGES[name]
    if tuple(entry["input_channels"]) != spec.channels:
        raise ModelError(f"{where} expects input channels {entry['input_channels']}, but this engine feeds "
                         f"{list(spec.channels)}; the package was made for another version of FLR Segmentation")
    channels = dataset.get("channel_names")
    if not isinstance(channels, dict):
        raise ModelError(f"{where}: dataset.json has no 'channel_names' (an nnU-Net v1 'modality' file?); "
                         f"convert the model to nnU-Net v2")
    if len(channels) != len(spec.channels):
        raise ModelError(f"{where}: its network takes {len(channels)} input channel(s), the stage needs "
                         f"{len(spec.channels)} ({', '.join(spec.channels)})")
    if dataset.get("labels") != spec.labels or entry["labels"] != spec.labels:
        raise ModelError(f"{where}: labels {dataset.get('labels')} differ from the stage's {spec.labels}")


def _verify_files(root: Path, manifest: dict) -> None:
    for rel, expected in manifest["files"].items():
        path = (root / safe_relative(rel, f"model '{manifest['id']}'", "a 'files' entry")).resolve()
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
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: manifest.json is not valid JSON ({str(exc)[:80]})") from None
    check_manifest(manifest, str(path))
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
