"""Small phantom datasets in the two layouts the annotator opens, written with the real writers.

Each case is a phantom CT with its exact label map (1 liver outside the FLR, 2 CRLM, 3 FLR) on a small grid, so
tests run in seconds; `LEFT_HANDED` grids are the ones Slicer's reader reverses.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd
from FLRSegmentationLib.research.phantom import centered_grid, make_phantom
from FLRSegmentationLib.vocabulary.labels import split_label_map

RIGHT_HANDED = np.diag([1.0, 1.0, 1.0])
LEFT_HANDED = np.diag([1.0, -1.0, 1.0])
ENGINE_LABELS = {"background": 0, "liver": 1, "crlm": 2, "flr": 3}


def phantom_case(seed: int, direction=RIGHT_HANDED, size=(40, 36, 24)) -> tuple[sitk.Image, sitk.Image]:
    return make_phantom(seed, centered_grid(size, (9.0, 9.0, 9.0), direction))


def engine_masks(label: sitk.Image) -> dict[str, np.ndarray]:
    return split_label_map(sitk.GetArrayFromImage(label))


def write_nnunet(root: Path, cases: dict, labels: dict = ENGINE_LABELS, recode=None) -> Path:
    """imagesTr/<case>_0000.nii.gz, labelsTr/<case>.nii.gz (for cases with a label) and dataset.json.

    recode maps the phantom's engine values to the dataset's (e.g. {1: 1, 2: 3, 3: 2}).
    """
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    for case_id, (ct, label) in cases.items():
        sitk.WriteImage(ct, str(root / "imagesTr" / f"{case_id}_0000.nii.gz"))
        if label is not None:
            if recode:
                array = sitk.GetArrayFromImage(label)
                recoded = np.zeros_like(array)
                for old, new in recode.items():
                    recoded[array == old] = new
                label = sitk.GetImageFromArray(recoded)
                label.CopyInformation(ct)
            sitk.WriteImage(label, str(root / "labelsTr" / f"{case_id}.nii.gz"), useCompression=True)
    (root / "dataset.json").write_text(json.dumps({
        "channel_names": {"0": "CT"}, "labels": labels, "numTraining": len(cases), "file_ending": ".nii.gz"}))
    return root


def write_folder(root: Path, cases: dict, seg_nrrd: tuple = ()) -> Path:
    """<case>.nii.gz CTs with <case>_seg.nii.gz label maps, or <case>.seg.nrrd for the cases in seg_nrrd."""
    root.mkdir(parents=True, exist_ok=True)
    for case_id, (ct, label) in cases.items():
        sitk.WriteImage(ct, str(root / f"{case_id}.nii.gz"))
        if label is None:
            continue
        if case_id in seg_nrrd:
            write_seg_nrrd(root / f"{case_id}.seg.nrrd", engine_masks(label), ct)
        else:
            sitk.WriteImage(label, str(root / f"{case_id}_seg.nii.gz"), useCompression=True)
    return root
