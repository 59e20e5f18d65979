"""One stage's network, built by us and run by nnunetv2's own nnUNetPredictor on in-memory arrays.

We build the network ourselves and hand it to `manual_initialization`, so trainers that nnunetv2 does not know
(STU-Net, SwinUNETR) plug in through network_builders.NETWORK_BUILDERS, and checkpoints are only ever read through
checkpoint.load_checkpoint.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from typing import Callable

import numpy as np
import torch
from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor
from nnunetv2.utilities.label_handling.label_handling import LabelManager
from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

from ..errors import ModelError
from ..models.checkpoint import load_checkpoint, network_weights
from ..models.network_builders import build_network
from ..models.packages import StageModel
from ..models.stunet.memory import require_memory
from ..models.swinunetr.memory import require_memory as require_swinunetr_memory
from .region_prediction import RegionPrediction, SharedInputs
from .resample_window import UnsupportedResampling

AUTOCAST_TYPES = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


class _PrecisionPredictor(nnUNetPredictor):
    """nnUNetPredictor whose network runs under our autocast choice; "auto" is nnU-Net's own (fp16 on CUDA, none on
    the CPU), opened here too because predict_box's tiles bypass the method where nnU-Net opens it.

    The innermost autocast context wins, so wrapping each forward pass overrides the one nnU-Net opens.
    network_seconds adds up the forward passes (synchronised on CUDA), so a report can say how much of a stage's
    time the network itself took and how much the work around it (resampling, export)."""

    precision = "auto"
    network_seconds = 0.0

    def _internal_maybe_mirror_and_predict(self, x: torch.Tensor) -> torch.Tensor:
        if self.precision == "auto":
            context = torch.autocast("cuda") if self.device.type == "cuda" else contextlib.nullcontext()
        else:
            dtype = AUTOCAST_TYPES[self.precision]
            context = torch.autocast(self.device.type, dtype=dtype or torch.float32, enabled=dtype is not None)
        start = time.perf_counter()
        with context:
            logits = super()._internal_maybe_mirror_and_predict(x)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.network_seconds += time.perf_counter() - start
        return logits


class RegionBits(LabelManager):
    """nnU-Net's label manager, except that a region model's labels are bit sets: bit i is set where region i
    (the dataset's i-th label after background) has probability > 0.5. nnU-Net writes the regions into one label map
    in regions_class_order, so a later region hides an earlier one (the E2E FLR region, which fires inside
    metastases, hid every CRLM voxel); as bits every region survives and the post-processing rules decide."""

    def convert_probabilities_to_segmentation(self, predicted_probabilities):
        if not self.has_regions:
            return super().convert_probabilities_to_segmentation(predicted_probabilities)
        is_numpy = isinstance(predicted_probabilities, np.ndarray)
        bits = (np.zeros if is_numpy else torch.zeros)(tuple(predicted_probabilities.shape[1:]),
                                                       dtype=np.uint8 if is_numpy else torch.uint8)
        for i in range(len(self.foreground_regions)):
            inside = predicted_probabilities[i] > 0.5
            bits |= (inside.astype(np.uint8) if is_numpy else inside.to(torch.uint8)) << i
        return bits


class StagePredictor:
    """Loads a stage once; `predict` turns a (c, z, y, x) array into a (z, y, x) label array, `predict_box` gives
    the same labels for a box only, at the cost of the box. A region model's labels are bit sets (RegionBits):
    `regions` splits them into one mask per region name.

    Speed options: fast (first fold, no mirroring), tile_step_size (1 - tile overlap), mirroring (test-time
    mirroring where the model allows it), precision (autocast: auto, fp32, fp16, bf16).
    On a GPU out-of-memory error the stage is retried with results kept on the CPU, then entirely on the CPU;
    `fallbacks` lists what happened so the report can say so.
    """

    def __init__(self, stage: StageModel, device: torch.device, fast: bool = False, tile_step_size: float = 0.5,
                 quiet: bool = True, mirroring: bool = True, precision: str = "auto"):
        self.name = stage.name
        self.quiet = quiet
        self.fallbacks: list[str] = []
        plans_manager = PlansManager(json.loads((stage.folder / "plans.json").read_text()))
        dataset_json = json.loads((stage.folder / "dataset.json").read_text())
        configuration = stage.folder.name.split("__")[-1]
        try:
            configuration_manager = plans_manager.get_configuration(configuration)
        except (KeyError, RuntimeError):
            raise ModelError(f"stage '{stage.name}': plans.json has no configuration '{configuration}'") from None
        folds = stage.folds[:1] if fast else stage.folds
        checkpoints = [(stage.folder / f"fold_{f}" / stage.checkpoint) for f in folds]
        loaded = [load_checkpoint(path) for path in checkpoints]
        parameters = [network_weights(ckpt, path) for ckpt, path in zip(loaded, checkpoints)]
        mirror_axes = loaded[0].get("inference_allowed_mirroring_axes")
        n_outputs = plans_manager.get_label_manager(dataset_json).num_segmentation_heads
        n_inputs = len(dataset_json["channel_names"])
        try:
            network = build_network(stage.trainer, plans_manager, configuration_manager, n_inputs, n_outputs)
        except ModelError as exc:
            raise ModelError(f"stage '{stage.name}': {exc}") from None
        try:
            network.load_state_dict(parameters[0])
        except RuntimeError as exc:
            raise ModelError(f"stage '{stage.name}': the checkpoint does not fit the network its plans describe "
                             f"({str(exc).splitlines()[0][:160]})") from None
        require_memory(network, configuration_manager.patch_size, device, f"stage '{stage.name}'")
        require_swinunetr_memory(network, configuration_manager.patch_size, device, f"stage '{stage.name}'")
        with self._library_output():
            self.predictor = _PrecisionPredictor(tile_step_size=tile_step_size, use_gaussian=True,
                                                 use_mirroring=mirroring and not fast and bool(mirror_axes),
                                             perform_everything_on_device=device.type == "cuda", device=device,
                                             verbose=False, verbose_preprocessing=False, allow_tqdm=False)
            self.predictor.manual_initialization(network, plans_manager, configuration_manager, parameters,
                                                 dataset_json, stage.trainer, mirror_axes)
        self.predictor.label_manager = RegionBits(dataset_json["labels"], dataset_json.get("regions_class_order"))
        # region i of a region model is the i-th label after background (nnU-Net's order); see RegionBits
        self.region_names = ([name for name, value in dataset_json["labels"].items()
                              if name != "ignore" and set(np.atleast_1d(value).tolist()) != {0}]
                             if self.predictor.label_manager.has_regions else None)
        self.predictor.precision = precision
        try:
            self.region = RegionPrediction(self.predictor)
        except UnsupportedResampling:
            self.region = None  # predict_box then crops nnU-Net's whole-image prediction

    @contextlib.contextmanager
    def _library_output(self):
        """nnunetv2 prints to stdout, which carries our progress lines: keep its chatter out unless verbose."""
        if not self.quiet:
            yield
            return
        with contextlib.redirect_stdout(io.StringIO()):
            yield

    def regions(self, bits: np.ndarray) -> dict[str, np.ndarray]:
        """A region model's bit-set labels as one bool mask per region name."""
        return {name: (bits & (1 << i)) > 0 for i, name in enumerate(self.region_names)}

    @property
    def network_seconds(self) -> float:
        """Seconds spent in the network's forward passes since this stage was loaded."""
        return self.predictor.network_seconds

    @property
    def device(self) -> torch.device:
        return self.predictor.device

    @property
    def spacing(self) -> tuple[float, ...]:
        """The spacing (z, y, x) the network works at."""
        return tuple(float(s) for s in self.predictor.configuration_manager.spacing)

    @contextlib.contextmanager
    def quick(self):
        """The stage's fast configuration for a while (first fold, no mirroring, no tile overlap): to locate."""
        p = self.predictor
        saved = p.tile_step_size, p.use_mirroring, p.list_of_parameters
        p.tile_step_size, p.use_mirroring, p.list_of_parameters = 1.0, False, p.list_of_parameters[:1]
        try:
            yield self
        finally:
            p.tile_step_size, p.use_mirroring, p.list_of_parameters = saved

    def _predict_once(self, image: np.ndarray, spacing_zyx) -> np.ndarray:
        with self._library_output():
            return self.predictor.predict_single_npy_array(image.astype(np.float32, copy=False),
                                                           {"spacing": list(spacing_zyx)})

    def predict(self, image: np.ndarray, spacing_zyx) -> np.ndarray:
        """nnU-Net's whole-image prediction of a (c, z, y, x) array."""
        return self._with_fallbacks(lambda: self._predict_once(image, spacing_zyx))

    def predict_box(self, channels: list[np.ndarray], spacing_zyx, box: tuple[slice, ...],
                    shared: SharedInputs | None = None, channel_keys: list[tuple] | None = None,
                    uncertain: np.ndarray | None = None) -> np.ndarray:
        """The labels nnU-Net's whole-image prediction gives inside box, computed for the box only.

        channels: the stage's inputs (z, y, x) on the whole image grid, in channel order (masks may be bool);
        shared, channel_keys and uncertain: see RegionPrediction.predict (uncertain is left as it is when the
        whole-image prediction had to be used: it keeps no probabilities; see has_uncertainty)."""
        if self.region is None:
            image = np.stack([c.astype(np.float32, copy=False) for c in channels])
            return self.predict(image, spacing_zyx)[box]
        return self._with_fallbacks(lambda: self.region.predict(channels, spacing_zyx, box, self._logits_for_tiles,
                                                                shared, channel_keys, uncertain))

    @property
    def has_uncertainty(self) -> bool:
        """Whether predict_box reports the uncertain voxels (the box prediction; not nnU-Net's whole image)."""
        return self.region is not None

    @torch.inference_mode()
    def _logits_for_tiles(self, data: torch.Tensor, tiles: list) -> torch.Tensor:
        """nnU-Net's predict_logits_from_preprocessed_data for given tiles of an already padded input: the folds'
        half-precision logits summed and averaged the way nnU-Net does."""
        p = self.predictor
        prediction = None
        for parameters in p.list_of_parameters:
            p.network.load_state_dict(parameters)
            p.network = p.network.to(p.device).eval()
            logits = p._internal_predict_sliding_window_return_logits(data, tiles, p.perform_everything_on_device)
            prediction = logits.to("cpu") if prediction is None else prediction + logits.to("cpu")
        if len(p.list_of_parameters) > 1:
            prediction /= len(p.list_of_parameters)
        return prediction

    def _with_fallbacks(self, run: Callable[[], np.ndarray]) -> np.ndarray:
        try:
            return run()
        except torch.OutOfMemoryError:
            torch.cuda.empty_cache()
        self.fallbacks.append(f"{self.name}: GPU out of memory, retried with results on the CPU")
        self.predictor.perform_everything_on_device = False
        try:
            return run()
        except torch.OutOfMemoryError:
            torch.cuda.empty_cache()
        self.fallbacks.append(f"{self.name}: GPU out of memory again, ran on the CPU")
        self.predictor.device = torch.device("cpu")
        return run()
