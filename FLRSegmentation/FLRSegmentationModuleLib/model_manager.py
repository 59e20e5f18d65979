"""Model packages for the module: list the registry's and the installed ones, install, download, remove.

Installed packages live in a models folder the user chooses, one sub-folder per model id. Nothing is accepted
before FLRSegmentationLib.models.packages.open_package has verified its manifest and every file's sha256; downloads are
also checked against the registry's sha256 before they are opened. Packages that ship with the extension (the
registry's own folder, e.g. the demo models) are listed as installed and can't be removed here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from FLRSegmentationLib.errors import ModelError
from FLRSegmentationLib.models.packages import MANIFEST, PACKAGE_ID, open_package

DEMO_LABEL = "demo - not for clinical use"
DOWNLOAD_BLOCK = 1 << 16  # small enough that progress and a cancel are seen several times a second


class DownloadCancelled(ModelError):
    """The user cancelled a download; nothing of it was kept."""


@dataclass(frozen=True)
class ModelInfo:
    id: str
    title: str
    version: str
    strategies: dict  # strategy -> stage names
    license: str
    citation: str
    size_bytes: int | None  # installed size, else the registry's download size, else unknown
    path: Path | None  # the installed package folder, None when not installed
    demo: bool
    bundled: bool  # ships with the extension
    url: str | None

    @property
    def installed(self) -> bool:
        return self.path is not None

    def display_name(self) -> str:
        text = f"{self.title} ({self.id} {self.version})"
        return f"{text} [{DEMO_LABEL}]" if self.demo else text


class ModelManager:
    def __init__(self, registry_file: Path, models_folder: Path):
        self.registry_file = Path(registry_file)
        self.models_folder = Path(models_folder)

    def registry(self) -> list[dict]:
        if not self.registry_file.is_file():
            return []
        try:
            return json.loads(self.registry_file.read_text())["models"]
        except (ValueError, KeyError) as exc:
            raise ModelError(f"the model registry {self.registry_file} is damaged ({exc})") from None

    def models(self) -> list[ModelInfo]:
        """The registry's models, then any other installed package, each with where it is installed."""
        infos = [self._info(entry) for entry in self.registry()]
        known = {info.id for info in infos}
        for folder in sorted(self._installed_folders()):
            manifest = _read_manifest(folder)
            if manifest and manifest.get("id") not in known:
                infos.append(self._info({"id": manifest["id"]}))
        return infos

    def model(self, model_id: str) -> ModelInfo:
        for info in self.models():
            if info.id == model_id:
                return info
        raise ModelError(f"unknown model '{model_id}'; install it in the model manager")

    def _installed_folders(self) -> list[Path]:
        if not self.models_folder.is_dir():
            return []
        return [p for p in self.models_folder.iterdir() if (p / MANIFEST).is_file() and not p.name.startswith(".")]

    def _info(self, entry: dict) -> ModelInfo:
        bundled = self.registry_file.parent / entry["path"] if "path" in entry else None
        user = self.models_folder / entry["id"]
        path = next((p for p in (user, bundled) if p is not None and (p / MANIFEST).is_file()), None)
        manifest = {**entry, **(_read_manifest(path) if path else {})}
        return ModelInfo(
            id=entry["id"], title=manifest.get("title", entry["id"]), version=str(manifest.get("version", "?")),
            strategies=_strategies(manifest), license=manifest.get("license", "unknown"),
            citation=manifest.get("citation", ""), size_bytes=_folder_size(path) if path else entry.get("size"),
            path=path, demo=bool(manifest.get("demo", False)), bundled=path is not None and path == bundled,
            url=entry.get("url"))

    def install(self, source: Path) -> ModelInfo:
        """Install a package folder or zip after verifying it; a model with the same id is replaced."""
        self.models_folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".install-", dir=self.models_folder) as scratch:
            package = open_package(Path(source), Path(scratch))
            if not PACKAGE_ID.match(package.id):
                raise ModelError(f"model id '{package.id}' can't be a folder name; the package is malformed")
            staged = Path(scratch) / "staged"
            shutil.copytree(package.root, staged, symlinks=False)
            open_package(staged, Path(scratch) / "check")  # what lands in the models folder is what was verified
            target = self.models_folder / package.id
            old = Path(scratch) / "replaced"
            if target.exists():
                os.replace(target, old)
            os.replace(staged, target)
        return self.model(package.id)

    def download(self, model_id: str, progress=None, cancelled=None) -> ModelInfo:
        """Download a registry model's zip, check its sha256, then install it. progress(done_bytes, total_bytes);
        cancelled() is asked between blocks and before installing: when true, DownloadCancelled and nothing kept.
        The zip goes to a scratch folder inside the models folder that is removed in every case."""
        entry = next((e for e in self.registry() if e["id"] == model_id), None)
        if entry is None or not entry.get("url"):
            raise ModelError(f"model '{model_id}' has no download address in the registry; install it from a file")
        if not entry.get("sha256"):
            raise ModelError(f"model '{model_id}' has no sha256 in the registry, so a download can't be verified")
        cancelled = cancelled or (lambda: False)
        self.models_folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".download-", dir=self.models_folder) as scratch:
            archive = Path(scratch) / f"{model_id}.zip"
            digest = _fetch(entry["url"], archive, progress, cancelled)
            if digest != entry["sha256"].lower():
                raise ModelError(f"download of '{model_id}' fails its sha256 check (got {digest[:12]}..., expected "
                                 f"{entry['sha256'][:12]}...); it was not installed")
            if cancelled():
                raise DownloadCancelled(f"download of '{model_id}' cancelled; nothing was installed")
            return self.install(archive)

    def remove(self, model_id: str) -> None:
        target = self.models_folder / model_id
        if not PACKAGE_ID.match(model_id) or not (target / MANIFEST).is_file():
            info = next((i for i in self.models() if i.id == model_id), None)
            if info is not None and info.bundled:
                raise ModelError(f"'{model_id}' ships with the extension and can't be removed")
            raise ModelError(f"model '{model_id}' is not installed in {self.models_folder}")
        shutil.rmtree(target)


def bundled_registry_file(module_dir: Path) -> Path:
    """The registry that ships with the extension: Models/ beside the module scripts in Slicer's build tree and in
    the installed extension (the module's CMakeLists puts it there), or at the repository root in a checkout."""
    candidates = [Path(module_dir) / "Models" / "registry.json", Path(module_dir).parent / "Models" / "registry.json"]
    return next((p for p in candidates if p.is_file()), candidates[0])


def _fetch(url: str, destination: Path, progress, cancelled) -> str:
    """Stream url into destination; returns the sha256 of what arrived."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(destination, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            done = 0
            for block in iter(lambda: response.read(DOWNLOAD_BLOCK), b""):
                if cancelled():
                    raise DownloadCancelled(f"download from {url} cancelled; nothing was installed")
                out.write(block)
                digest.update(block)
                done += len(block)
                if progress:
                    progress(done, total)
    except OSError as exc:  # URLError, HTTPError, timeouts and disk errors
        raise ModelError(f"download from {url} failed ({exc}); without internet, get the zip elsewhere and use "
                         f"'Install from file'") from None
    return digest.hexdigest()


def _read_manifest(folder: Path) -> dict:
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def _strategies(manifest: dict) -> dict:
    strategies = manifest.get("strategies", {})
    return dict(strategies) if isinstance(strategies, dict) else {name: [] for name in strategies}


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
