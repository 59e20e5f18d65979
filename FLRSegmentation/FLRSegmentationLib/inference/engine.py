"""Run a strategy (cascade or end-to-end) of a model package on one CT and return its label map.

Cascade: liver -> crop to the liver box -> CRLM (CT + liver) -> FLR (CT + liver + CRLM) -> paste back ->
post-processing rules. E2E: one network predicts the three overlapping structures as nnU-Net regions.
All stage I/O comes from stage_io.py, the code the dataset tools use too.

Speed (speed_options.py): the liver is first located on a binned CT, then every stage is computed only where its
labels are needed (region_prediction: nnU-Net's own numbers for a box), with arrays kept in memory. The naive
cascade (SpeedOptions.naive) runs nnU-Net's whole-image prediction on the whole volume for every stage, with files
between stages; Testing/benchmark_cascade.py compares the two.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import SimpleITK as sitk
import torch

from ..models.packages import ModelPackage, StageModel
from ..vocabulary.labels import combine_masks
from ..vocabulary.stages import STAGES
from ..volumetry.result_warnings import LOCATOR_BOX_TOO_TIGHT, NO_LIVER, warning
from ..volumetry.uncertainty import uncertainty_fields
from .free_memory import release_free_memory
from .liver_locator import grow_to_tile, locate_liver, worth_locating
from .postprocess import PostprocessRules, apply_rules, largest_component
from .region_prediction import box_key
from .speed_options import SpeedOptions
from .stage_files import StageFiles
from .stage_io import CROP_MARGIN_MM, Reorientation, crop_box
from .stage_predictor import StagePredictor

ProgressCallback = Callable[[str, float, str], None]


@dataclass
class CaseResult:
    label_map: np.ndarray  # (z, y, x) on the input's own array grid, values 0-3 (labels.LABEL_*)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    network_seconds: dict[str, float] = field(default_factory=dict)  # the forward passes within each stage
    warnings: list[dict] = field(default_factory=list)  # result_warnings.warning: {"code", "message"}
    # uncertain_ml and flr_percent_range (volumetry/uncertainty.py) from the voxels whose winning probability is below
    # UNCERTAIN_BELOW; their values are None when a stage ran nnU-Net's whole-image prediction (no probabilities)
    uncertainty: dict = field(default_factory=lambda: uncertainty_fields({}, None, (1.0, 1.0, 1.0)))
    stage_uncertain: dict[str, np.ndarray | None] = field(default_factory=dict)  # bits per stage, engine grid


def keeps_own_type(image: np.ndarray) -> bool:
    """Integers of up to 16 bits stay as they are: every value is exact in float32, and the stages cast only the
    slices they read (region_prediction), so a whole float32 copy of the CT is never made."""
    return image.dtype.kind in "iu" and image.dtype.itemsize <= 2


def _inner(box: tuple[slice, ...], frame: tuple[slice, ...]) -> tuple[slice, ...]:
    """box in the coordinates of frame (box lies inside frame)."""
    return tuple(slice(b.start - f.start, b.stop - f.start) for b, f in zip(box, frame))


def as_mask(labels: np.ndarray) -> np.ndarray:
    """A one-structure stage's 0/1 labels as bool, without a copy: the pages outside the region it ran in were never
    written, so they stay out of memory."""
    return labels.view(bool)


def touches_inner_face(mask: np.ndarray, box: tuple[slice, ...]) -> bool:
    """Whether mask reaches a face of box that is not the image's own border (the box may have cut it)."""
    for axis, b in enumerate(box):
        for index, is_border in ((b.start, b.start == 0), (b.stop - 1, b.stop == mask.shape[axis])):
            if not is_border and np.take(mask, index, axis=axis)[box[:axis] + box[axis + 1:]].any():
                return True
    return False


class SegmentationEngine:
    """Loads every stage of a strategy once, then segments any number of CTs."""

    def __init__(self, package: ModelPackage, strategy: str, device: torch.device, unpack_dir: Path,
                 fast: bool = False, rules: PostprocessRules = PostprocessRules(),
                 margin_mm: float = CROP_MARGIN_MM, quiet: bool = True, speed: SpeedOptions = SpeedOptions(),
                 locator: StageModel | None = None):
        self.package = package
        self.strategy = strategy
        self.rules = rules
        self.margin_mm = margin_mm
        self.speed = speed
        self.stage_names = package.strategy_stages(strategy)
        settings = dict(fast=fast, quiet=quiet, tile_step_size=speed.tile_step_size, mirroring=speed.mirroring,
                        precision=speed.precision)
        self.predictors = {name: StagePredictor(package.stage(name, unpack_dir), device, **settings)
                           for name in self.stage_names}
        self.locator = None
        if speed.locate:
            if locator is None and "liver" not in self.predictors and "liver" in package.manifest["stages"]:
                locator = package.stage("liver", unpack_dir)
            self.locator = (StagePredictor(locator, device, **settings) if locator is not None
                            else self.predictors.get("liver"))

    @property
    def fallbacks(self) -> list[str]:
        return [event for p in self.predictors.values() for event in p.fallbacks]

    @property
    def devices(self) -> dict[str, str]:
        """Where each stage finally ran (a stage may have fallen back to the CPU)."""
        return {name: str(p.device) for name, p in self.predictors.items()}

    def segment(self, ct: sitk.Image, progress: ProgressCallback = lambda *a: None,
                given_liver: np.ndarray | None = None) -> CaseResult:
        """given_liver (a mask on the CT's array grid) replaces the cascade's liver stage: the benchmark's question
        of how much CRLM and FLR lose to the predicted liver (research/benchmark_grid.py)."""
        orient = Reorientation.from_direction(ct.GetDirection())
        spacing = orient.spacing_zyx(ct.GetSpacing())
        image = orient.forward(sitk.GetArrayViewFromImage(ct))  # a view where no axis moves: no 2nd copy
        if not keeps_own_type(image):
            image = image.astype(np.float32, copy=False)
        result = CaseResult(np.zeros(image.shape, np.uint8))
        if given_liver is not None and self.strategy != "cascade":
            raise ValueError("a given liver replaces a cascade's liver stage; the E2E network takes none")
        with StageFiles(self.speed.in_memory, spacing) as files:
            files.put("CT", image)
            whole = tuple(slice(0, n) for n in image.shape)
            if self.strategy == "e2e":
                masks = self._run_e2e(files, whole, spacing, result, progress)
            else:
                liver = None if given_liver is None else orient.forward(np.asarray(given_liver) > 0)
                masks = self._run_cascade(files, whole, spacing, result, progress, liver)
        liver, crlm, flr = apply_rules(masks["liver"], masks["crlm"], masks["flr"], self.rules)
        if not liver.any():
            result.warnings.append(warning(NO_LIVER, "no liver was found in this image"))
        result.label_map = orient.backward(combine_masks(liver, crlm, flr))
        # counted in the engine's orientation: volumes don't depend on it, and no mask is copied to the output's
        result.uncertainty = uncertainty_fields({"liver": liver, "crlm": crlm, "flr": flr},
                                                self._uncertain_structures(result.stage_uncertain), ct.GetSpacing())
        result.stage_uncertain = {}
        return result

    def _uncertain_structures(self, stage_bits: dict) -> dict[str, np.ndarray] | None:
        """Each structure's uncertain voxels (nonzero) from its stage's bits: one bit per stage in the cascade, one
        per region in the E2E model."""
        if any(stage_bits.get(name) is None for name in self.stage_names):
            return None
        if self.strategy == "e2e":
            bits = stage_bits["e2e"]
            return {name: bits & (1 << i) for i, name in enumerate(self.predictors["e2e"].region_names)}
        return {name: stage_bits[name] for name in self.stage_names}

    def _stage(self, name: str, files: StageFiles, spacing, frame, region, result, progress,
               fraction: float) -> np.ndarray:
        """Labels of a stage on the whole grid (0 outside region). The stage sees its channels cropped to frame
        (the whole image, or the liver box) and its labels are computed inside region only (within frame)."""
        channels = [files.get(c) for c in STAGES[name].channels]
        labels = np.zeros(channels[0].shape, np.uint8)  # the naive cascade's files are read for every stage
        progress(name, fraction, f"predicting {name} on {tuple(r.stop - r.start for r in region)} voxels")
        start = time.perf_counter()
        predictor = self.predictors[name]
        network_before = predictor.network_seconds
        cropped = [c[frame] for c in channels]
        uncertain = None
        if self.speed.lean:
            if predictor.has_uncertainty:
                uncertain = np.zeros(labels.shape, np.uint8)  # like labels: only the region's pages are written
            in_box = None if uncertain is None else np.zeros(tuple(r.stop - r.start for r in region), np.uint8)
            labels[region] = predictor.predict_box(cropped, spacing, _inner(region, frame), files.resampled,
                                                   [(c, box_key(frame)) for c in STAGES[name].channels], in_box)
            if uncertain is not None:
                uncertain[region] = in_box
        else:
            labels[frame] = predictor.predict(np.stack([c.astype(np.float32, copy=False) for c in cropped]),
                                              spacing)
        result.stage_seconds[name] = round(time.perf_counter() - start, 3)
        result.stage_uncertain[name] = uncertain
        result.network_seconds[name] = round(predictor.network_seconds - network_before, 3)
        release_free_memory()
        return labels

    def _located(self, name, shape, files: StageFiles, spacing, result, progress) -> tuple[slice, ...] | None:
        """The liver's box from the cheap locating pass, or None (no locating, not worth it, or nothing found)."""
        if self.locator is None or not worth_locating(self.locator, self.predictors[name], shape, spacing):
            return None
        progress("locate", 0.02, "locating the liver on a binned copy of the CT")
        start, network_before = time.perf_counter(), self.locator.network_seconds
        box = locate_liver(self.locator, files.get("CT"), spacing, self.margin_mm)
        result.stage_seconds["locate"] = round(time.perf_counter() - start, 3)
        result.network_seconds["locate"] = round(self.locator.network_seconds - network_before, 3)
        return box

    def _around_liver(self, name, files, whole, spacing, result, progress, fraction) -> np.ndarray:
        """A whole-image stage (liver or E2E) run on the located liver's box (grown to a tile); if the liver reaches
        a cut face of that box, the box was too tight and the stage runs on the whole image instead."""
        shape = [w.stop for w in whole]
        located = self._located(name, shape, files, spacing, result, progress)
        frame = whole if located is None else grow_to_tile(located, self.predictors[name], spacing, shape)
        region = (located or whole) if self.speed.lean else frame
        labels = self._stage(name, files, spacing, frame, region, result, progress, fraction)
        if located is not None and touches_inner_face(labels > 0, located):
            result.warnings.append(warning(LOCATOR_BOX_TOO_TIGHT, f"{name}: the located liver box was too tight; "
                                           "the stage ran on the whole image"))
            labels = self._stage(name, files, spacing, whole, whole, result, progress, fraction)
        return labels

    def _run_e2e(self, files, whole, spacing, result, progress) -> dict[str, np.ndarray]:
        bits = self._around_liver("e2e", files, whole, spacing, result, progress, 0.1)
        return self.predictors["e2e"].regions(bits)  # overlapping as predicted; the rules decide what wins

    def _run_cascade(self, files, whole, spacing, result, progress, given_liver=None) -> dict[str, np.ndarray]:
        if given_liver is not None:
            liver = np.ascontiguousarray(given_liver, dtype=bool)
        else:
            liver = as_mask(self._around_liver("liver", files, whole, spacing, result, progress, 0.05))
        if self.rules.largest_liver_component:
            liver = largest_component(liver)  # before cropping, so an island can't widen the box
        box = crop_box(liver, spacing, self.margin_mm)
        if box is None:
            empty = np.zeros_like(liver)
            return {"liver": liver, "crlm": empty, "flr": empty.copy()}
        frame = box if self.speed.crop else whole  # the stage's own input: the liver crop, as trained
        region = box if self.speed.lean else frame  # labels outside the liver box are removed by the rules anyway
        files.put("liver", liver)
        masks = {"liver": liver}
        masks["crlm"] = as_mask(self._stage("crlm", files, spacing, frame, region, result, progress, 0.4))
        files.put("crlm", masks["crlm"])
        masks["flr"] = as_mask(self._stage("flr", files, spacing, frame, region, result, progress, 0.7))
        return masks
