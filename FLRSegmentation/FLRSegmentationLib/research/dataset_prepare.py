"""`flrseg prepare-dataset`: a TCIA-like download (one folder per patient) -> nnU-Net v2 raw datasets, one per stage
of a strategy, with one patient-level 5-fold split shared by all of them.

Each stage's cases come from the engine's own stage code (nnunet_dataset -> stage_io.training_case), so cropping,
channel order and label values are those the extension feeds at inference. SOURCE is only read. A patient that
can't be read is reported and skipped (and any older output of it removed); every case written gets a marker with
a fingerprint of its inputs, so a rerun keeps what is up to date and converts only the rest.

Dataset ids: nnU-Net asks for custom ids from 500 up (below are reserved for its own pretrained models); the
stages get FIRST_DATASET_ID + STAGE_ID_OFFSETS (511 liver, 512 CRLM, 513 FLR, 514 E2E), another block with
--first-id. The demo models use 901-904.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Callable

import numpy as np

from .. import __version__
from ..errors import FLRSegError, InputError
from ..imaging.atomic_files import write_json_atomically
from ..inference.stage_io import CROP_MARGIN_MM
from ..vocabulary.stages import STAGES, STRATEGIES
from .nnunet_dataset import case_files, remove_stage_case, write_dataset_json, write_stage_case
from .tcia_reader import read_patient, refined_labels_file

FIRST_DATASET_ID = 511
STAGE_ID_OFFSETS = {"liver": 0, "crlm": 1, "flr": 2, "e2e": 3}
STAGE_TITLES = {"liver": "Liver", "crlm": "CRLM", "flr": "FLR", "e2e": "E2E"}
N_FOLDS = 5
SPLIT_SEED = 12345  # the seed nnU-Net uses for its own splits
MARKERS = "flrseg_cases"  # per dataset: one JSON per case written completely
SPLITS_FILE = "splits_final.json"


def dataset_name(stage: str, first_id: int = FIRST_DATASET_ID) -> str:
    """The nnU-Net dataset folder name of a stage, e.g. Dataset511_FLRSegLiver."""
    return f"Dataset{first_id + STAGE_ID_OFFSETS[stage]:03d}_FLRSeg{STAGE_TITLES[stage]}"


def case_id(patient: str) -> str:
    """A patient folder name as an nnU-Net case identifier (letters, digits, '-' and '_')."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", patient)


def patient_folds(case_ids, n_folds: int = N_FOLDS, seed: int = SPLIT_SEED) -> list[dict[str, list[str]]]:
    """nnU-Net's splits_final.json content: every patient validated in exactly one fold, folds differing in size by
    at most one, the same for a given set of patients whatever the order they were converted in."""
    ids = sorted(case_ids)
    order = np.random.default_rng(seed).permutation(len(ids))
    k = min(n_folds, len(ids))
    folds = [sorted(ids[i] for i in order[fold::k]) for fold in range(k)]
    return [{"train": [c for c in ids if c not in val], "val": val} for val in folds]


def prepare_dataset(source: Path, out: Path, strategy: str, labels_dir: Path | None = None,
                    first_id: int = FIRST_DATASET_ID, log: Callable[[str], None] = print) -> dict:
    """Convert every patient folder of `source` into the strategy's stage datasets under `out`; returns the report
    (also written to out/flrseg_prepare_<strategy>.json)."""
    patients = _checked_patients(source, out, strategy, labels_dir, first_id)
    stages = STRATEGIES[strategy]
    folders = {stage: out / dataset_name(stage, first_id) for stage in stages}
    report = {"source": str(source), "strategy": strategy, "labels": str(labels_dir) if labels_dir else None,
              "datasets": {stage: folder.name for stage, folder in folders.items()},
              "converted": [], "kept": [], "skipped": {}}
    for number, (patient, case) in enumerate(patients.items(), 1):
        prefix = f"[{number}/{len(patients)}] {patient}"
        try:
            labels_file = refined_labels_file(labels_dir, patient) if labels_dir else None
            fingerprint = _fingerprint(source / patient, labels_file)
            stale = [s for s in stages if not _up_to_date(folders[s], s, case, fingerprint)]
            if not stale:
                report["kept"].append(case)
                log(f"{prefix}: up to date, kept")
                continue
            patient_labels = read_patient(source / patient, labels_file)
            for stage in stale:
                _write_case(folders[stage], stage, case, patient, patient_labels, fingerprint)
            report["converted"].append(case)
            log(f"{prefix}: converted ({_summary(patient_labels.facts)})")
        except Exception as err:  # one patient's bad data must not end a conversion of hundreds
            reason = str(err) if isinstance(err, FLRSegError) else f"{type(err).__name__}: {err}"
            for stage in stages:
                _remove_case(folders[stage], stage, case)
            report["skipped"][patient] = reason
            log(f"{prefix}: skipped: {reason}")
    return _finish(out, folders, report)


def _checked_patients(source: Path, out: Path, strategy: str, labels_dir: Path | None,
                      first_id: int) -> dict[str, str]:
    """Patient folder name -> case id, after checking every argument (before anything is written)."""
    if strategy not in STRATEGIES:
        raise InputError(f"unknown strategy '{strategy}'; choose one of {', '.join(STRATEGIES)}")
    if not source.is_dir():
        raise InputError(f"SOURCE {source} is not a folder; give the folder that holds one folder per patient")
    if out.exists() and not out.is_dir():
        raise InputError(f"OUT {out} is a file; give a folder for the datasets (it is created if missing)")
    if labels_dir is not None and not labels_dir.is_dir():
        raise InputError(f"--labels {labels_dir} is not a folder; give the folder of refined label files")
    resolved_source, resolved_out = source.resolve(), out.resolve()
    if resolved_out == resolved_source or resolved_source in resolved_out.parents:
        raise InputError(f"OUT {out} lies inside SOURCE {source}, which is never written to; choose another folder")
    if resolved_out in resolved_source.parents:
        raise InputError(f"SOURCE {source} lies inside OUT {out}; choose an OUT folder beside it")
    last_id = first_id + max(STAGE_ID_OFFSETS.values())
    if first_id < 1 or last_id > 999:
        raise InputError(f"--first-id {first_id}: the stages take ids {first_id}-{last_id}, and nnU-Net ids run from "
                         f"1 to 999 (use 500 or more for your own datasets)")
    patients = {p.name: case_id(p.name) for p in sorted(source.iterdir())
                if p.is_dir() and not p.name.startswith(".")}
    if not patients:
        raise InputError(f"SOURCE {source} holds no patient folders; give the folder with one folder per patient "
                         f"(for a TCIA download, the collection folder 'Colorectal-Liver-Metastases')")
    clashes = sorted(c for c in set(patients.values()) if list(patients.values()).count(c) > 1)
    if clashes:
        names = [p for p, c in patients.items() if c in clashes]
        raise InputError(f"patient folders {', '.join(names)} give the same case id; rename one")
    return patients


def _fingerprint(folder: Path, labels_file: Path | None) -> str:
    """Changes when any input file, the labels file, the engine's version or the stage definitions change."""
    files = [(str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
             for p in sorted(folder.rglob("*")) if p.is_file()]
    labels = None if labels_file is None else (str(labels_file.resolve()), labels_file.stat().st_size,
                                                labels_file.stat().st_mtime_ns)
    stages = {name: repr(spec) for name, spec in STAGES.items()}
    text = json.dumps([__version__, CROP_MARGIN_MM, stages, files, labels])
    return hashlib.sha256(text.encode()).hexdigest()


def _marker(folder: Path, case: str) -> Path:
    return folder / MARKERS / f"{case}.json"


def _up_to_date(folder: Path, stage: str, case: str, fingerprint: str) -> bool:
    marker = _marker(folder, case)
    try:
        recorded = json.loads(marker.read_text())["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return recorded == fingerprint and all(p.is_file() for p in case_files(folder, STAGES[stage], case))


def _write_case(folder: Path, stage: str, case: str, patient: str, patient_labels, fingerprint: str) -> None:
    """The case's files, then its marker: a case without a marker is converted again on the next run."""
    marker = _marker(folder, case)
    marker.unlink(missing_ok=True)
    write_stage_case(folder, STAGES[stage], case, patient_labels.ct, patient_labels.label_map)
    write_json_atomically(marker, {"patient": patient, "fingerprint": fingerprint, "facts": patient_labels.facts})


def _remove_case(folder: Path, stage: str, case: str) -> None:
    _marker(folder, case).unlink(missing_ok=True)
    remove_stage_case(folder, STAGES[stage], case)


def _finish(out: Path, folders: dict[str, Path], report: dict) -> dict:
    """dataset.json and the shared splits_final.json for every complete case, and the report."""
    complete = sorted(set.intersection(*(_marked_cases(folder) for folder in folders.values())))
    if len(complete) < 2:
        raise InputError(f"only {len(complete)} patient(s) could be converted, and cross-validation needs at least "
                         f"2; see the reasons above")
    splits = patient_folds(complete)
    for stage, folder in folders.items():
        write_dataset_json(folder, STAGES[stage], len(complete),
                           f"FLR Segmentation stage '{stage}' from {report['source']} (flrseg prepare-dataset)")
        write_json_atomically(folder / SPLITS_FILE, splits)
    report["cases"] = complete
    report["folds"] = len(splits)
    report["facts"] = {case: json.loads(_marker(next(iter(folders.values())), case).read_text())["facts"]
                       for case in complete}
    write_json_atomically(out / f"flrseg_prepare_{report['strategy']}.json", report)
    return report


def _marked_cases(folder: Path) -> set[str]:
    return {p.stem for p in (folder / MARKERS).glob("*.json")}


def _summary(facts: dict) -> str:
    volumes = facts["volumes"]
    flr = "n/a" if volumes["flr_percent"] is None else f"{volumes['flr_percent']:.1f} %"
    return (f"liver {volumes['liver_ml']:.0f} mL, {volumes['crlm_count']} CRLM, FLR {flr}; "
            f"{facts['label_source']}")
