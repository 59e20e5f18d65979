"""Save a case's label back into its dataset: same format, grid and label values; atomic; previous version kept.

Order, so that no crash loses anything: encode (what the dataset can't store is refused before any write), copy the
previous label into `annotation/versions/<case>/NNNN_<label file name>`, write the new label under its own name in
a private folder beside it, rename it over the old one (atomic), then append the save to the case's sidecar: who,
when, the kind (the AI's pre-label or an annotator's correction), the model of a pre-label, and how many voxels
changed, in all and per segment.
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import InputError
from ..imaging.atomic_files import copy_atomically, replace_atomically
from .dataset import AnnotationDataset, Case
from .store import CORRECTION, PRELABEL, now

VERSION_NAME = re.compile(r"^(\d{4,})_")


def save_label(dataset: AnnotationDataset, case: Case, masks: dict[str, np.ndarray], who: str,
               kind: str = CORRECTION, model: dict | None = None) -> dict:
    """Write `masks` (segment key -> bool (z, y, x) on the CT grid) as the case's label; returns the sidecar entry."""
    if kind not in (CORRECTION, PRELABEL):
        raise ValueError(f"unknown kind of save {kind!r}")
    grid = dataset.grid(case)
    keys = [segment.key for segment in case.label_format.segments]
    if set(masks) - set(keys):
        raise ValueError(f"segments {sorted(set(masks) - set(keys))} are not among the dataset's {keys}")
    masks = {key: _checked(masks.get(key), grid.shape, key) for key in keys}
    previous = dataset.read_label(case, grid)
    write = case.label_format.prepare(masks, grid, case.label if previous is not None else None)
    changed = {key: masks[key] ^ previous[key] if previous is not None else masks[key] for key in keys}
    version = _keep_version(dataset, case) if previous is not None else None
    replace_atomically(case.label, write)
    entry = {"when": now(), "who": who, "kind": kind, "model": model,
             "voxels_changed": int(np.logical_or.reduce(list(changed.values())).sum()) if keys else 0,
             "voxels_changed_by_segment": {key: int(change.sum()) for key, change in changed.items()},
             "label": case.label.relative_to(dataset.root).as_posix(),
             "previous_version": version.relative_to(dataset.root).as_posix() if version else None}
    dataset.store.add_save(case.id, entry)
    return entry


def versions(dataset: AnnotationDataset, case: Case) -> list:
    """The kept versions of a case's label, oldest first."""
    folder = dataset.versions_folder / case.id
    found = [p for p in folder.iterdir() if VERSION_NAME.match(p.name)] if folder.is_dir() else []
    return sorted(found, key=lambda p: int(VERSION_NAME.match(p.name).group(1)))


def _keep_version(dataset: AnnotationDataset, case: Case):
    kept = versions(dataset, case)
    number = int(VERSION_NAME.match(kept[-1].name).group(1)) + 1 if kept else 1
    target = dataset.versions_folder / case.id / f"{number:04d}_{case.label.name}"
    copy_atomically(case.label, target)
    return target


def _checked(mask, shape: tuple, key: str) -> np.ndarray:
    if mask is None:
        return np.zeros(shape, bool)
    mask = np.asarray(mask, bool)
    if mask.shape != shape:
        raise InputError(f"segment '{key}' is {mask.shape} voxels (z, y, x), the CT {shape}; labels are saved "
                         "on the CT's grid only")
    return mask
