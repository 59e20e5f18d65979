"""Write nnU-Net v2 raw datasets (imagesTr, labelsTr, dataset.json) for one stage, with the stage code's I/O."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import numpy as np
import SimpleITK as sitk

from .stages import StageSpec, training_case

FILE_ENDING = ".nii.gz"


def _write_array(array: np.ndarray, spacing_zyx, path: Path) -> None:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(tuple(float(s) for s in spacing_zyx[::-1]))
    sitk.WriteImage(image, str(path), useCompression=True)


def write_stage_dataset(folder: Path, spec: StageSpec, cases: Iterable[tuple[str, sitk.Image, sitk.Image]],
                        description: str) -> Path:
    """One raw dataset folder for `spec` from (case id, CT, output-encoded label map) triples."""
    images, labels = folder / "imagesTr", folder / "labelsTr"
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    count = 0
    for case_id, ct, label_map in cases:
        image, target, spacing = training_case(spec, ct, label_map)
        for channel, plane in enumerate(image):
            dtype = np.int16 if channel == 0 else np.uint8
            _write_array(plane.astype(dtype), spacing, images / f"{case_id}_{channel:04d}{FILE_ENDING}")
        _write_array(target, spacing, labels / f"{case_id}{FILE_ENDING}")
        count += 1
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
    (folder / "dataset.json").write_text(json.dumps(dataset, indent=2))
    return folder
