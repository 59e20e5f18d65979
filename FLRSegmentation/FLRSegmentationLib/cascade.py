"""Run a strategy (cascade or end-to-end) of a model package on one CT, in memory, and return its label map.

Cascade: liver on the whole CT -> crop to the liver box -> CRLM (CT + liver) -> FLR (CT + liver + CRLM) -> paste
back -> post-processing rules. E2E: one network predicts the three overlapping structures as nnU-Net regions.
All stage I/O comes from stages.py, the code the dataset tools use too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import SimpleITK as sitk
import torch

from .packages import ModelPackage
from .postprocess import PostprocessRules, apply_rules, largest_component
from .stage_predictor import StagePredictor
from .stages import CROP_MARGIN_MM, STAGES, Reorientation, combine_masks, crop_box, split_label_map, stage_input

ProgressCallback = Callable[[str, float, str], None]


@dataclass
class CaseResult:
    label_map: np.ndarray  # (z, y, x) on the input's own array grid, values 0-3 (stages.LABEL_*)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class SegmentationEngine:
    """Loads every stage of a strategy once, then segments any number of CTs."""

    def __init__(self, package: ModelPackage, strategy: str, device: torch.device, unpack_dir: Path,
                 fast: bool = False, rules: PostprocessRules = PostprocessRules(),
                 margin_mm: float = CROP_MARGIN_MM, quiet: bool = True):
        self.package = package
        self.strategy = strategy
        self.rules = rules
        self.margin_mm = margin_mm
        self.stage_names = package.strategy_stages(strategy)
        self.predictors = {name: StagePredictor(package.stage(name, unpack_dir), device, fast=fast, quiet=quiet)
                           for name in self.stage_names}

    @property
    def fallbacks(self) -> list[str]:
        return [event for p in self.predictors.values() for event in p.fallbacks]

    @property
    def devices(self) -> dict[str, str]:
        """Where each stage finally ran (a stage may have fallen back to the CPU)."""
        return {name: str(p.device) for name, p in self.predictors.items()}

    def segment(self, ct: sitk.Image, progress: ProgressCallback = lambda *a: None) -> CaseResult:
        orient = Reorientation.from_direction(ct.GetDirection())
        spacing = orient.spacing_zyx(ct.GetSpacing())
        image = orient.forward(sitk.GetArrayViewFromImage(ct)).astype(np.float32, copy=False)  # no 2nd copy
        result = CaseResult(np.zeros(image.shape, np.uint8))
        run = self._run_e2e if self.strategy == "e2e" else self._run_cascade
        masks = run(image, spacing, result, progress)
        liver, crlm, flr = apply_rules(masks["liver"], masks["crlm"], masks["flr"], self.rules)
        if not liver.any():
            result.warnings.append("no liver was found in this image")
        result.label_map = orient.backward(combine_masks(liver, crlm, flr))
        return result

    def _predict(self, name: str, image: np.ndarray, spacing, result: CaseResult, progress, fraction: float):
        progress(name, fraction, f"predicting {name} on {image.shape[1:]} voxels")
        start = time.perf_counter()
        labels = self.predictors[name].predict(image, spacing)
        result.stage_seconds[name] = round(time.perf_counter() - start, 3)
        return labels

    def _run_e2e(self, image, spacing, result, progress) -> dict[str, np.ndarray]:
        labels = self._predict("e2e", stage_input(STAGES["e2e"], image, {}), spacing, result, progress, 0.1)
        return split_label_map(labels)

    def _run_cascade(self, image, spacing, result, progress) -> dict[str, np.ndarray]:
        liver = self._predict("liver", stage_input(STAGES["liver"], image, {}), spacing, result, progress, 0.05) > 0
        if self.rules.largest_liver_component:
            liver = largest_component(liver)  # before cropping, so an island can't widen the box
        box = crop_box(liver, spacing, self.margin_mm)
        empty = np.zeros_like(liver)
        if box is None:
            return {"liver": liver, "crlm": empty, "flr": empty.copy()}
        cropped = {"liver": liver[box]}
        cropped["crlm"] = self._predict("crlm", stage_input(STAGES["crlm"], image[box], cropped), spacing, result,
                                        progress, 0.4) > 0
        cropped["flr"] = self._predict("flr", stage_input(STAGES["flr"], image[box], cropped), spacing, result,
                                       progress, 0.7) > 0
        masks = {"liver": liver}
        for name in ("crlm", "flr"):
            full = np.zeros_like(liver)
            full[box] = cropped[name]
            masks[name] = full
        return masks
