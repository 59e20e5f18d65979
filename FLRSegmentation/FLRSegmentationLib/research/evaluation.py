"""Score predicted label maps against reference label maps, case by case, as the benchmark paper reports them.

Label maps are the engine's (0 background, 1 liver outside the FLR, 2 CRLM, 3 FLR), split into the overlapping
masks liver = {1, 2, 3}, CRLM = {2}, FLR = {3} by `labels.split_label_map`. Per structure: Dice and HD95 in mm,
both MONAI's implementations (`compute_dice`; `compute_hausdorff_distance` with percentile 95 and the voxel
spacing: the larger of the two directed 95th percentiles of surface-voxel distances). Per case: FLR % of each
label map by the engine's volumetry, and the absolute error in percentage points.

Empty masks have defined values, not crashes:
- prediction and reference both empty: Dice 1, HD95 0 mm (nothing to find and nothing found);
- only one of them empty: Dice 0, HD95 NaN (no surface to measure a distance from);
- FLR % error NaN when either label map has no functional liver (FLR % undefined).
NaN values are kept per case and left out of the summary, which says how many cases each figure is over.

Prediction and reference must share their grid (size, spacing, origin, direction): nothing is resampled.
Cases are matched by name: `<case>_seg.nii.gz` (flrseg segment), `<case>.nii.gz` (nnU-Net labelsTr) and
`<case>_0000.nii.gz` (a prediction named after nnU-Net's first image channel) are all case `<case>`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..errors import InputError
from ..imaging.image_grid import ImageGrid
from ..vocabulary.labels import split_label_map
from ..volumetry.segmentation_volumes import measure_label_map_volumes, read_label_map

STRUCTURES = ("liver", "crlm", "flr")
LABEL_MAP_ENDINGS = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")
CASE_SUFFIXES = ("_seg", "_0000")  # flrseg segment's output name, then nnU-Net's channel-0 image name
HD_PERCENTILE = 95


@dataclass(frozen=True)
class CaseScores:
    case: str
    dice: dict[str, float]
    hd95_mm: dict[str, float]
    flr_percent_pred: float
    flr_percent_ref: float

    @property
    def flr_percent_error(self) -> float:
        """In percentage points, to the volumetry's 3 decimals; NaN when either FLR % is undefined."""
        return round(abs(self.flr_percent_pred - self.flr_percent_ref), 3)


def case_of(file_name: str) -> str | None:
    """The case a label map file belongs to, or None for a file that is not a label map (reports, .seg.nrrd)."""
    lower = file_name.lower()
    ending = next((e for e in LABEL_MAP_ENDINGS if lower.endswith(e)), None)
    if ending is None or lower.endswith(".seg.nrrd"):
        return None
    case = file_name[:-len(ending)]
    for suffix in CASE_SUFFIXES:
        if case.endswith(suffix) and len(case) > len(suffix):
            case = case[:-len(suffix)]
    return case


def label_map_files(folder: Path, role: str) -> dict[str, Path]:
    """case -> label map file in a folder; two files for one case are refused."""
    if not folder.is_dir():
        raise InputError(f"{role} {folder} is not a folder; give the folder of label maps (<case>_seg.nii.gz or "
                         f"<case>.nii.gz)")
    files: dict[str, Path] = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        case = case_of(path.name)
        if case is None:
            continue
        if case in files:
            raise InputError(f"{role} {folder}: {files[case].name} and {path.name} are both case '{case}'; keep one")
        files[case] = path
    if not files:
        raise InputError(f"{role} {folder} holds no label map (<case>_seg.nii.gz, <case>.nii.gz, .nrrd or .mha)")
    return files


def check_same_grid(pred: Path, ref: Path) -> None:
    differences = ImageGrid.of_file(pred).differences(ImageGrid.of_file(ref))
    if differences:
        raise InputError(f"{pred.name} is not on the grid of its reference {ref.name} ({differences[0]}); "
                         f"predict on the reference's grid: flrseg evaluate never resamples")


def dice(pred: np.ndarray, ref: np.ndarray) -> float:
    """MONAI's Dice; ignore_empty=False gives 1 when both masks are empty and 0 when only one is."""
    import torch
    from monai.metrics import compute_dice

    return float(compute_dice(torch.from_numpy(pred[None, None]), torch.from_numpy(ref[None, None]),
                              include_background=True, ignore_empty=False)[0, 0])


def hd95_mm(pred: np.ndarray, ref: np.ndarray, spacing_zyx) -> float:
    """MONAI's 95th-percentile Hausdorff distance in mm; 0 for two empty masks, NaN when only one is empty."""
    if not pred.any() or not ref.any():
        return 0.0 if not pred.any() and not ref.any() else math.nan
    import torch
    from monai.metrics import compute_hausdorff_distance

    with warnings.catch_warnings():  # MONAI 1.6 warns about an argument its own code passes internally
        warnings.simplefilter("ignore", FutureWarning)
        distance = compute_hausdorff_distance(torch.from_numpy(pred[None, None]), torch.from_numpy(ref[None, None]),
                                              include_background=True, percentile=HD_PERCENTILE,
                                              spacing=[float(s) for s in spacing_zyx])
    return float(distance[0, 0])


def _flr_percent(label_map: np.ndarray, spacing_xyz) -> float:
    value = measure_label_map_volumes(label_map, spacing_xyz)["flr_percent"]
    return math.nan if value is None else value


def score_case(case: str, pred_path: Path, ref_path: Path) -> CaseScores:
    """Dice, HD95 and FLR % of one case; the grids must be equal (checked from the headers first)."""
    check_same_grid(pred_path, ref_path)
    pred_image, ref_image = read_label_map(pred_path), read_label_map(ref_path)
    pred_map, ref_map = sitk.GetArrayViewFromImage(pred_image), sitk.GetArrayViewFromImage(ref_image)
    spacing_xyz = ref_image.GetSpacing()
    pred_masks, ref_masks = split_label_map(pred_map), split_label_map(ref_map)
    return CaseScores(
        case,
        {s: dice(pred_masks[s], ref_masks[s]) for s in STRUCTURES},
        {s: hd95_mm(pred_masks[s], ref_masks[s], spacing_xyz[::-1]) for s in STRUCTURES},
        _flr_percent(pred_map, spacing_xyz), _flr_percent(ref_map, spacing_xyz))


def matched_cases(ref: dict[str, Path], predictions: dict[str, dict[str, Path]]) -> tuple[list[str], list[str]]:
    """The cases every prediction set and the reference have, and one line per case left out."""
    common = set(ref).intersection(*predictions.values())
    notes = []
    for name, files in predictions.items():
        missing = sorted(set(ref) - set(files))
        extra = sorted(set(files) - set(ref))
        if missing:
            notes.append(f"{name} lacks {len(missing)} reference case(s), left out: {', '.join(missing)}")
        if extra:
            notes.append(f"{name} has {len(extra)} case(s) without a reference, left out: {', '.join(extra)}")
    if not common:
        raise InputError("no case is in the reference and in every prediction folder; case names must match "
                         "(<case>_seg.nii.gz or <case>.nii.gz)")
    return sorted(common), notes


def evaluate(ref_dir: Path, prediction_dirs: dict[str, Path],
             map_cases=map) -> tuple[dict[str, list[CaseScores]], list[str]]:
    """Scores per prediction set (name -> folder) on the cases all sets share, and notes on the cases left out.

    Every grid is checked from the headers before any metric is computed, so a mismatch stops the run early.
    map_cases(score_case, cases, preds, refs) scores the cases in order (builtin map, or a cluster's)."""
    ref = label_map_files(ref_dir, "REF")
    predictions = {name: label_map_files(folder, name) for name, folder in prediction_dirs.items()}
    cases, notes = matched_cases(ref, predictions)
    for files in predictions.values():
        for case in cases:
            check_same_grid(files[case], ref[case])
    scores = {name: list(map_cases(score_case, cases, [files[c] for c in cases], [ref[c] for c in cases]))
              for name, files in predictions.items()}
    return scores, notes
