"""Model package folders for the module's model-manager tests: a complete cascade package of stand-in weights (its
manifest and sha256 written by the engine's own write_manifest), the same folder zipped, and a registry entry
changed in place."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from FLRSegmentationLib.models.packages import write_manifest
from FLRSegmentationLib.vocabulary.stages import STAGES


def stage_entry(name: str) -> dict:
    """A complete manifest stage entry (the manifest check asks for every field), pointing at stand-in weights."""
    return {"file": f"{name}.zip", "configuration": "3d_fullres", "trainer": "nnUNetTrainer", "plans": "nnUNetPlans",
            "folds": [0], "checkpoint": "checkpoint_final.pth", "input_channels": list(STAGES[name].channels),
            "labels": STAGES[name].labels}


MANIFEST = {"id": "liver-test", "title": "Test cascade", "version": "2.0.0", "license": "CC-BY-4.0",
            "citation": "Doe et al. 2026", "intended_use": "tests", "demo": False,
            "strategies": {"cascade": ["liver", "crlm", "flr"]},
            "stages": {name: stage_entry(name) for name in ("liver", "crlm", "flr")}}


def make_package(folder: Path, **changes) -> Path:
    folder.mkdir(parents=True)
    for name in ("liver", "crlm", "flr"):
        (folder / f"{name}.zip").write_bytes(f"weights of {name}".encode())
    write_manifest(folder, dict(MANIFEST, **changes))
    return folder


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in folder.rglob("*"):
            zf.write(path, Path(folder.name) / path.relative_to(folder))
    return archive


def set_entry(registry: Path, **changes) -> None:
    data = json.loads(registry.read_text())
    data["models"][1].update(changes)
    registry.write_text(json.dumps(data))
