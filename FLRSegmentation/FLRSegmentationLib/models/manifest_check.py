"""The shape of a package's manifest.json, checked before any file of the package is used.

Every byte used is a byte hashed: a stage's `file` must be a relative path inside the package that `files` lists
(with its sha256), its `checkpoint` a plain file name inside the stage's fold folders; and every field the engine
reads must be there with the right type, so a damaged or hostile manifest is refused with one line naming the
field instead of failing later with an internal error.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from ..errors import ModelError
from ..vocabulary.stages import STRATEGIES

REQUIRED_KEYS = ("id", "title", "version", "license", "citation", "intended_use", "strategies", "stages", "files")
STAGE_KEYS = {"file": str, "trainer": str, "plans": str, "configuration": str, "checkpoint": str,
              "input_channels": list, "labels": dict}
SHA256 = re.compile(r"^[0-9a-f]{64}$")
FOLD = re.compile(r"^[A-Za-z0-9_]+$")
PLAIN_FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
TRAINER = re.compile(r"^(nnUNetTrainer|STUNetTrainer|SwinUNETRTrainer)[A-Za-z0-9_]*$")
PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # plans and configuration names: no glob or path characters


def safe_relative(rel, where: str, field: str) -> str:
    """A package-relative POSIX path: not absolute, no '..', no backslashes or empty parts."""
    if not isinstance(rel, str) or not rel:
        raise ModelError(f"{where}: {field} must be a relative path inside the package, not {rel!r}")
    parts = PurePosixPath(rel).parts
    if (rel.startswith(("/", "\\")) or "\\" in rel or ":" in rel or "\0" in rel or ".." in parts or not parts
            or any(p in ("", ".") for p in rel.split("/"))):
        raise ModelError(f"{where}: {field} '{rel[:120]}' leaves the package (absolute, '..' or odd path); "
                         f"a package may only use its own files")
    return rel


def check_trainer(trainer, where: str) -> None:
    """A trainer names a network builder (ours) or nnU-Net's plain architecture; never anything else."""
    if not isinstance(trainer, str) or not TRAINER.match(trainer):
        raise ModelError(f"{where}: trainer '{str(trainer)[:80]}' is not an nnUNetTrainer, STUNetTrainer or SwinUNETRTrainer name; "
                         f"the package is unsafe or damaged")


def check_names(entry: dict, where: str) -> None:
    check_trainer(entry.get("trainer"), where)
    for key in ("plans", "configuration"):
        if not isinstance(entry.get(key), str) or not PLAIN_NAME.match(entry[key]):
            raise ModelError(f"{where}: '{key}' must be a plain name (letters, digits, '_', '.', '-'), not "
                             f"{str(entry.get(key))[:80]!r}")


def _type_name(kind) -> str:
    return {str: "a string", list: "a list", dict: "a dict (object)"}[kind]


def check_stage_entry(entry, where: str, files: dict) -> None:
    if not isinstance(entry, dict):
        raise ModelError(f"{where}: the stage entry must be a dict (object), not {type(entry).__name__}")
    for key, kind in STAGE_KEYS.items():
        if key not in entry:
            raise ModelError(f"{where}: the stage lacks '{key}'; not a valid FLR Segmentation package")
        if not isinstance(entry[key], kind):
            raise ModelError(f"{where}: the stage's '{key}' must be {_type_name(kind)}")
    check_names(entry, where)
    file = safe_relative(entry["file"], where, "'file'")
    if file not in files and not any(rel.startswith(file.rstrip("/") + "/") for rel in files):
        raise ModelError(f"{where}: its file '{file}' is not listed (with its sha256) in the manifest's 'files'; "
                         f"a package may only use files it lists")
    if not PLAIN_FILE.match(entry["checkpoint"]):
        raise ModelError(f"{where}: 'checkpoint' must be a plain file name (e.g. checkpoint_final.pth), not "
                         f"'{entry['checkpoint'][:80]}'")
    folds = entry.get("folds", ["all"])
    if (not isinstance(folds, list) or not folds
            or not all(isinstance(f, (str, int)) and not isinstance(f, bool) and FOLD.match(str(f)) for f in folds)):
        raise ModelError(f"{where}: 'folds' must be a non-empty list of fold names (e.g. [0, 1] or [\"all\"])")


def check_manifest(manifest, where: str) -> None:
    if not isinstance(manifest, dict):
        raise ModelError(f"{where}: manifest.json must hold a JSON object; not a valid FLR Segmentation package")
    missing = [k for k in REQUIRED_KEYS if k not in manifest]
    if missing:
        raise ModelError(f"{where}: manifest.json lacks {', '.join(missing)}; not a valid FLR Segmentation package")
    for key in ("id", "version"):
        if not isinstance(manifest[key], str) or not manifest[key]:
            raise ModelError(f"{where}: manifest.json '{key}' must be a non-empty string")
    for key in ("strategies", "stages", "files"):
        if not isinstance(manifest[key], dict):
            raise ModelError(f"{where}: manifest.json '{key}' must be a dict (object), not "
                             f"{type(manifest[key]).__name__}")
    for rel, digest in manifest["files"].items():
        safe_relative(rel, where, "a 'files' entry")
        if not isinstance(digest, str) or not SHA256.match(digest):
            raise ModelError(f"{where}: 'files' entry '{rel[:120]}' must map to a sha256 (64 hex digits)")
    for strategy, stages in manifest["strategies"].items():
        if strategy not in STRATEGIES or not isinstance(stages, list) or tuple(stages) != STRATEGIES[strategy]:
            raise ModelError(f"{where}: strategy '{strategy}' must have stages {STRATEGIES.get(strategy)}, "
                             f"the manifest lists {stages}")
        for stage in stages:
            if stage not in manifest["stages"]:
                raise ModelError(f"{where}: strategy '{strategy}' needs stage '{stage}', which the manifest lacks")
            check_stage_entry(manifest["stages"][stage], f"{where}, stage '{stage}'", manifest["files"])
