"""The peer a user would run without this package: nnU-Net's own predictor, stage after stage, files in between.

Each stage is nnunetv2's `nnUNetPredictor.predict_from_files_sequential` (what `nnUNetv2_predict` runs, minus its
worker processes, so the peak memory is this process's own) on the input that stage was trained on: the whole CT for
the liver; for CRLM and FLR the CT and the earlier masks cropped to the liver's bounding box plus the package's
margin (inference/stage_io.py's rule, written out here with numpy and SimpleITK as a user's script would), each
channel a NIfTI file. The liver's largest component decides the box, as the engine's post-processing rule does; the
package's rules are applied to the three outputs, so the labels are comparable with the engine's. Networks and
weights come through the package's loader (weights_only checkpoints, its network builders), handed to nnU-Net by
`manual_initialization` exactly as the engine's stages are.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch
from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor


def _nnunet_predictor(stage, device: torch.device, tile_step_size: float, mirroring: bool) -> nnUNetPredictor:
    """A plain nnUNetPredictor holding the network and weights the package's loader built for this stage."""
    from FLRSegmentationLib.inference.stage_predictor import StagePredictor

    loaded = StagePredictor(stage, device, tile_step_size=tile_step_size, mirroring=mirroring).predictor
    predictor = nnUNetPredictor(tile_step_size=tile_step_size, use_gaussian=True, use_mirroring=loaded.use_mirroring,
                                perform_everything_on_device=device.type == "cuda", device=device, verbose=False,
                                verbose_preprocessing=False, allow_tqdm=False)
    predictor.manual_initialization(loaded.network, loaded.plans_manager, loaded.configuration_manager,
                                    loaded.list_of_parameters, loaded.dataset_json, loaded.trainer_name,
                                    loaded.allowed_mirroring_axes)
    return predictor


def _largest_component(liver: sitk.Image) -> sitk.Image:
    components = sitk.RelabelComponent(sitk.ConnectedComponent(liver, True), sortByObjectSize=True)
    return sitk.Cast(components == 1, sitk.sitkUInt8)


def _crop_index_size(liver: sitk.Image, margin_mm: float):
    """The liver's bounding box grown by margin_mm per side, clipped to the image (index and size, x y z)."""
    shape = sitk.LabelShapeStatisticsImageFilter()
    shape.Execute(liver)
    if not shape.HasLabel(1):
        return None
    box = shape.GetBoundingBox(1)  # x, y, z start, then x, y, z size
    index, size = [], []
    for axis in range(3):
        pad = math.ceil(margin_mm / liver.GetSpacing()[axis])
        start = max(0, box[axis] - pad)
        stop = min(liver.GetSize()[axis], box[axis] + box[axis + 3] + pad)
        index.append(start)
        size.append(stop - start)
    return index, size


def load_peer(package, folder: Path, device: torch.device, tile_step_size: float,
              mirroring: bool) -> dict[str, nnUNetPredictor]:
    return {name: _nnunet_predictor(package.stage(name, folder), device, tile_step_size, mirroring)
            for name in ("liver", "crlm", "flr")}


def run_peer(predictors: dict[str, nnUNetPredictor], ct_path: Path, folder: Path, margin_mm: float,
             rules) -> tuple[np.ndarray, dict[str, float]]:
    """The cascade as chained nnU-Net runs: the label map (z, y, x) and the seconds per stage."""
    from FLRSegmentationLib.inference.postprocess import apply_rules
    from FLRSegmentationLib.vocabulary.labels import combine_masks
    from FLRSegmentationLib.vocabulary.stages import STAGES

    folder = folder / "peer-files"  # nnU-Net writes its dataset.json and plans.json next to its outputs
    folder.mkdir()
    seconds = {}
    start = time.perf_counter()
    predictors["liver"].predict_from_files_sequential([[str(ct_path)]], [str(folder / "liver")])
    liver = _largest_component(sitk.ReadImage(str(folder / "liver.nii.gz")))
    seconds["liver"] = time.perf_counter() - start
    masks = {"liver": sitk.GetArrayFromImage(liver) > 0}
    crop = _crop_index_size(liver, margin_mm)
    if crop is None:
        empty = np.zeros_like(masks["liver"])
        return combine_masks(masks["liver"], empty, empty), seconds
    ct = sitk.ReadImage(str(ct_path))
    images = {name: sitk.RegionOfInterest(image, crop[1], crop[0]) for name, image in (("CT", ct), ("liver", liver))}
    box = tuple(slice(i, i + n) for i, n in zip(crop[0][::-1], crop[1][::-1]))
    for name in ("crlm", "flr"):
        start = time.perf_counter()
        inputs = []
        for c, channel in enumerate(STAGES[name].channels):
            inputs.append(str(folder / f"{name}_{c:04d}.nii.gz"))
            sitk.WriteImage(images[channel], inputs[-1], useCompression=True)
        predictors[name].predict_from_files_sequential([inputs], [str(folder / name)])
        images[name] = sitk.ReadImage(str(folder / f"{name}.nii.gz"))
        masks[name] = np.zeros_like(masks["liver"])
        masks[name][box] = sitk.GetArrayFromImage(images[name]) > 0
        seconds[name] = time.perf_counter() - start
    liver, crlm, flr = apply_rules(masks["liver"], masks["crlm"], masks["flr"], rules)
    return combine_masks(liver, crlm, flr), {k: round(v, 3) for k, v in seconds.items()}
