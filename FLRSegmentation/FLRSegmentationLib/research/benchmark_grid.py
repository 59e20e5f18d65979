"""The seed paper's benchmark grid in one run: three networks (nnU-Net, SwinUNETR, STU-Net) x two strategies
(cascade, E2E), each scored on the same CTs against reference label maps with research/evaluation.py: Dice and
HD95 per structure and the FLR % error, mean ± sd over the cases (evaluation_report.summary_cell).

Plus the paper's robustness question: how much do CRLM and FLR lose to the predicted liver? A cascade runs a
second time with the reference liver given to stages 2-3 in place of its liver stage's output. The E2E network
takes no liver, so its "true liver" cells are its own CRLM and FLR Dice, marked as such.

Packages are given per network (`nnunet=PATH`, an id from the registry works too); each strategy a package holds
fills that network's row for the strategy. A row without a package is printed "not trained", never guessed.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch

from ..errors import InputError
from ..inference.engine import SegmentationEngine
from ..models.packages import resolve_model
from ..vocabulary.labels import split_label_map
from ..volumetry.segmentation_volumes import read_label_map
from .evaluation import CaseScores, case_of, evaluate, label_map_files
from .evaluation_report import summary_cell

NETWORKS = {"nnunet": "nnU-Net", "swinunetr": "SwinUNETR", "stunet": "STU-Net"}
STRATEGIES = {"cascade": "cascade", "e2e": "E2E"}
COLUMNS = (("Liver Dice", "dice", "liver", 3), ("CRLM Dice", "dice", "crlm", 3), ("FLR Dice", "dice", "flr", 3),
           ("Liver HD95 (mm)", "hd95", "liver", 2), ("CRLM HD95 (mm)", "hd95", "crlm", 2),
           ("FLR HD95 (mm)", "hd95", "flr", 2), ("FLR % error (pp)", "flr_error", "", 2))
ROBUSTNESS = (("CRLM Dice, true liver", "crlm"), ("FLR Dice, true liver", "flr"))
NOT_TRAINED = "not trained"
E2E_MARK = "¹"
E2E_NOTE = f"{E2E_MARK} E2E takes no liver input: its own CRLM and FLR Dice, unchanged by a true liver."


@dataclass(frozen=True)
class GridRow:
    network: str
    strategy: str
    scores: list[CaseScores] | None  # None: no package trained for this row
    true_liver: list[CaseScores] | None  # the cascade rerun with the reference liver; None for E2E


def parse_models(items: list[str]) -> dict[str, str]:
    """['nnunet=demo-phantom', ...] -> {'nnunet': 'demo-phantom'}; each network once."""
    models: dict[str, str] = {}
    for item in items:
        network, _, ref = item.partition("=")
        if network not in NETWORKS or not ref:
            raise InputError(f"--model {item}: give NETWORK=PACKAGE with NETWORK one of {', '.join(NETWORKS)} "
                             f"(e.g. --model stunet=demo-phantom-stunet)")
        if network in models:
            raise InputError(f"--model {network} is given twice; give each network one package")
        models[network] = ref
    return models


def ct_files(folder: Path, ref: dict[str, Path]) -> dict[str, Path]:
    """case -> CT in folder (named like the reference: <case>.nrrd, <case>_0000.nii.gz, ...), for every reference."""
    if not folder.is_dir():
        raise InputError(f"CT folder {folder} is not a folder; give the folder of CT images named after the cases")
    cts = {case_of(p.name): p for p in sorted(folder.iterdir()) if p.is_file() and case_of(p.name)}
    missing = sorted(set(ref) - set(cts))
    if missing:
        raise InputError(f"{folder} has no CT for {len(missing)} reference case(s), e.g. '{missing[0]}'; name each "
                         f"CT after its reference label map")
    return {case: cts[case] for case in ref}


def _segment_all(engine: SegmentationEngine, cts: dict[str, Path], ref: dict[str, Path], out: Path,
                 true_liver: bool) -> Path:
    """Label maps of every case on its CT's grid, as <case>.nii.gz in out."""
    out.mkdir(parents=True)
    for case, path in cts.items():
        ct = sitk.ReadImage(str(path))
        given = split_label_map(sitk.GetArrayFromImage(read_label_map(ref[case])))["liver"] if true_liver else None
        labels = sitk.GetImageFromArray(engine.segment(ct, given_liver=given).label_map.astype(np.uint8))
        labels.CopyInformation(ct)
        sitk.WriteImage(labels, str(out / f"{case}.nii.gz"), useCompression=True)
    return out


def run_grid(ct_dir: Path, ref_dir: Path, models: dict[str, str], device: str = "cpu",
             notify=lambda line: None) -> list[GridRow]:
    """Every network x strategy row: scored where a package holds the strategy, "not trained" elsewhere."""
    ref = label_map_files(ref_dir, "REF")
    cts = ct_files(ct_dir, ref)
    rows = []
    with tempfile.TemporaryDirectory(prefix="flrseg-grid-") as tmp:  # 0700, removed afterwards
        work = Path(tmp)
        packages = {network: resolve_model(value, work / "packages" / network) for network, value in models.items()}
        for network in NETWORKS:
            for strategy in STRATEGIES:
                package = packages.get(network)
                if package is None or strategy not in package.manifest["strategies"]:
                    rows.append(GridRow(network, strategy, None, None))
                    continue
                notify(f"{NETWORKS[network]} {STRATEGIES[strategy]}: {package.label()} on {len(cts)} case(s)")
                engine = SegmentationEngine(package, strategy, torch.device(device), work / "unpacked" / network)
                runs = {"predicted": _segment_all(engine, cts, ref, work / network / strategy / "predicted", False)}
                if strategy == "cascade":
                    runs["true"] = _segment_all(engine, cts, ref, work / network / strategy / "true", True)
                scores, _ = evaluate(ref_dir, runs)
                rows.append(GridRow(network, strategy, scores["predicted"], scores.get("true")))
    return rows


def _metric(scores: list[CaseScores], kind: str, structure: str) -> list[float]:
    if kind == "dice":
        return [s.dice[structure] for s in scores]
    if kind == "hd95":
        return [s.hd95_mm[structure] for s in scores]
    return [s.flr_percent_error for s in scores]


def grid_table(rows: list[GridRow]) -> str:
    """The paper-style markdown table: one row per network x strategy."""
    titles = [title for title, *_ in COLUMNS] + [title for title, _ in ROBUSTNESS]
    lines = ["| network | strategy | n | " + " | ".join(titles) + " |", "| --- " * (3 + len(titles)) + "|"]
    marked = False
    for row in rows:
        head = f"| {NETWORKS[row.network]} | {STRATEGIES[row.strategy]} | "
        if row.scores is None:
            lines.append(head + "- | " + " | ".join([NOT_TRAINED] * len(titles)) + " |")
            continue
        cells = [summary_cell(_metric(row.scores, kind, s), d) for _, kind, s, d in COLUMNS]
        if row.true_liver is not None:
            cells += [summary_cell(_metric(row.true_liver, "dice", s), 3) for _, s in ROBUSTNESS]
        else:
            cells += [summary_cell(_metric(row.scores, "dice", s), 3) + E2E_MARK for _, s in ROBUSTNESS]
            marked = True
        lines.append(head + f"{len(row.scores)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n" + (f"\n{E2E_NOTE}\n" if marked else "")
