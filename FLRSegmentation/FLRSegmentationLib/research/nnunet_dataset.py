"""Write nnU-Net v2 raw datasets (imagesTr, labelsTr, dataset.json) for one stage, with the stage code's I/O.

Cases are written one at a time (and can be removed), so a dataset can be built up over several runs."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import SimpleITK as sitk

from ..imaging.atomic_files import replace_atomically, write_json_atomically
from ..inference.stage_io import training_case
from ..vocabulary.stages import StageSpec

FILE_ENDING = ".nii.gz"


def _write_array(array: np.ndarray, spacing_zyx, path: Path) -> None:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(tuple(float(s) for s in spacing_zyx[::-1]))
    sitk.WriteImage(image, str(path), useCompression=True)


def case_files(folder: Path, spec: StageSpec, case_id: str) -> list[Path]:
    """A training case's files: one image per input channel, then the label."""
    images = [folder / "imagesTr" / f"{case_id}_{channel:04d}{FILE_ENDING}" for channel in range(len(spec.channels))]
    return images + [folder / "labelsTr" / f"{case_id}{FILE_ENDING}"]


def write_stage_case(folder: Path, spec: StageSpec, case_id: str, ct: sitk.Image, label_map: sitk.Image) -> None:
    """One training case of `spec` from a CT and its output-encoded label map; each file is replaced whole, so an
    interrupted run leaves complete files (of the old case or the new one)."""
    image, target, spacing = training_case(spec, ct, label_map)
    *images, label = case_files(folder, spec, case_id)
    for channel, plane in enumerate(image):
        array = plane.astype(np.int16 if channel == 0 else np.uint8)
        replace_atomically(images[channel], lambda staged, array=array: _write_array(array, spacing, staged))
    replace_atomically(label, lambda staged: _write_array(target, spacing, staged))


def remove_stage_case(folder: Path, spec: StageSpec, case_id: str) -> None:
    for path in case_files(folder, spec, case_id):
        path.unlink(missing_ok=True)


def write_dataset_json(folder: Path, spec: StageSpec, count: int, description: str) -> Path:
    dataset = {
        "name": folder.name,
        "description": description,
        "channel_names": spec.channel_names(),
        "labels": spec.labels,
        "numTraining": count,
        "file_ending": FILE_ENDING,
        "flrseg_stage": spec.name,
    }
    if spec.regions_class_order:
        dataset["regions_class_order"] = list(spec.regions_class_order)
    path = folder / "dataset.json"
    write_json_atomically(path, dataset)
    return path


def write_stage_dataset(folder: Path, spec: StageSpec, cases: Iterable[tuple[str, sitk.Image, sitk.Image]],
                        description: str) -> Path:
    """One raw dataset folder for `spec` from (case id, CT, output-encoded label map) triples."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for case_id, ct, label_map in cases:
        write_stage_case(folder, spec, case_id, ct, label_map)
        count += 1
    write_dataset_json(folder, spec, count, description)
    return folder
