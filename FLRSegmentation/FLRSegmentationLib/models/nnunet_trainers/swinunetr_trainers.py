"""SwinUNETR trainers for nnunetv2 2.8: `nnUNetv2_train D 3d_fullres FOLD -tr SwinUNETRTrainer` (found through
nnUNet_extTrainer). nnU-Net released none ("nnU-Net Revisited", Isensee et al. 2024, trained SwinUNETR in nnU-Net
but kept the trainer); these follow its authors' advice and the published recipe:

- MONAI's SwinUNETR (models/swinunetr/network.py) at the published feature size 48, v1 or v2 (`_v2`);
- no deep supervision (the network has one output): nnU-Net's NoDeepSupervision path, and
  set_deep_supervision_enabled does nothing (nnU-Net's version expects a `.decoder` SwinUNETR has not);
- AdamW at a learning rate far below nnU-Net's SGD default, with a linear warm-up then cosine (or poly) decay;
- the planned patch size rounded to multiples of 32 and written back into the plans, with the network's
  description, so the exported plans.json builds the same network at inference.

`_ft` variants fine-tune from FLRSEG_SWINUNETR_PRETRAINED (MONAI's self-supervised `model_swinvit.pt`, or a whole
SwinUNETR), read with torch.load(weights_only=True) (models/swinunetr/pretrained.py); the other trainers load it
too when it is set.
"""

import copy
import math
import os

import torch
from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer
from torch.optim.lr_scheduler import LRScheduler

from FLRSegmentationLib.models.nnunet_trainers.demo_trainers import nnUNetTrainerFLRDemo
from FLRSegmentationLib.models.swinunetr.network import (PLANS_KEY, TRAINER_SPECS, network_from_plans,
                                                         round_patch, variant_of_trainer)
from FLRSegmentationLib.models.swinunetr.pretrained import PRETRAINED_VARIABLE, load_pretrained


class WarmupDecayLR(LRScheduler):
    """Linear warm-up over the first epochs, then cosine or poly (exponent 0.9) decay to 0; stepped per epoch
    with the epoch number, as nnU-Net steps its PolyLRScheduler."""

    def __init__(self, optimizer, initial_lr: float, epochs: int, warmup: int, schedule: str = "cosine"):
        if schedule not in ("cosine", "poly"):
            raise ValueError(f"schedule must be 'cosine' or 'poly', not {schedule!r}")
        self.initial_lr, self.epochs, self.warmup, self.schedule = initial_lr, epochs, warmup, schedule
        super().__init__(optimizer, -1)

    def lr_at(self, epoch: int) -> float:
        if epoch < self.warmup:
            return self.initial_lr * (epoch + 1) / (self.warmup + 1)
        progress = (epoch - self.warmup) / max(1, self.epochs - self.warmup)
        if self.schedule == "cosine":
            return self.initial_lr * 0.5 * (1 + math.cos(math.pi * progress))
        return self.initial_lr * (1 - progress) ** 0.9

    def get_lr(self):
        return [self.lr_at(max(0, self.last_epoch))] * len(self.optimizer.param_groups)

    def step(self, epoch=None):
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(self.last_epoch)


def plans_for_swinunetr(plans: dict, configuration: str, trainer: str) -> dict:
    """A copy of the plans whose configuration has a patch size of multiples of 32 and the network description."""
    plans = copy.deepcopy(plans)
    config = plans["configurations"][configuration]
    config["patch_size"] = round_patch(config["patch_size"])
    config.setdefault(PLANS_KEY, TRAINER_SPECS[variant_of_trainer(trainer)].to_dict())
    return plans


class SwinUNETRTrainer(nnUNetTrainer):
    """SwinUNETR v1 at feature size 48, AdamW 1e-4 (the published SwinUNETR recipe), 1000 epochs as nnU-Net."""

    INITIAL_LR = 1e-4
    WEIGHT_DECAY = 1e-5
    WARMUP_FRACTION = 0.05  # of the epochs
    SCHEDULE = "cosine"
    NEEDS_PRETRAINED = False

    def __init__(self, plans: dict, configuration: str, fold: int, dataset_json: dict,
                 device: torch.device = torch.device("cuda")):
        super().__init__(plans_for_swinunetr(plans, configuration, type(self).__name__), configuration, fold,
                         dataset_json, device)
        self.enable_deep_supervision = False
        self.initial_lr = self.INITIAL_LR
        self.weight_decay = self.WEIGHT_DECAY

    @classmethod
    def build_network_architecture(cls, plans_manager, configuration_manager, num_input_channels: int,
                                   num_output_channels: int, enable_deep_supervision: bool = True):
        return network_from_plans(variant_of_trainer(cls.__name__), configuration_manager, num_input_channels,
                                  num_output_channels)

    def _plain_network(self) -> torch.nn.Module:
        network = self.network.module if self.is_ddp else self.network
        return getattr(network, "_orig_mod", network)

    def initialize(self):
        super().initialize()
        pretrained = os.environ.get(PRETRAINED_VARIABLE)
        if self.NEEDS_PRETRAINED and not pretrained:
            raise RuntimeError(f"{type(self).__name__} fine-tunes: set {PRETRAINED_VARIABLE} to the pretrained "
                               f"checkpoint (e.g. MONAI's model_swinvit.pt)")
        if pretrained:
            notes = load_pretrained(self._plain_network(), pretrained)
            self.print_to_log_file(f"SwinUNETR initialised from pretrained {pretrained}" +
                                   "".join(f"\n  {note}" for note in notes), also_print_to_console=True)

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.network.parameters(), lr=self.initial_lr, weight_decay=self.weight_decay)
        warmup = max(1, round(self.WARMUP_FRACTION * self.num_epochs))
        return optimizer, WarmupDecayLR(optimizer, self.initial_lr, self.num_epochs, warmup, self.SCHEDULE)

    def set_deep_supervision_enabled(self, enabled: bool):
        """SwinUNETR has a single output; there is nothing to switch."""


class SwinUNETRTrainer_ft(SwinUNETRTrainer):
    """Fine-tuning from the self-supervised encoder (FLRSEG_SWINUNETR_PRETRAINED, required)."""

    NEEDS_PRETRAINED = True


class SwinUNETRTrainer_v2(SwinUNETRTrainer):
    """SwinUNETR-V2 (a residual convolution block before each Swin stage), feature size 48."""


class SwinUNETRTrainer_v2_ft(SwinUNETRTrainer_v2):
    NEEDS_PRETRAINED = True


class SwinUNETRTrainer_v2_poly(SwinUNETRTrainer_v2):
    """The v2 network with nnU-Net's poly decay after the warm-up instead of cosine."""

    SCHEDULE = "poly"


class SwinUNETRTrainer_demo(SwinUNETRTrainer, nnUNetTrainerFLRDemo):
    """Feature size 12 ("demo" in swinunetr.network.TRAINER_SPECS) on phantoms, the demo schedule of the large
    structures (no mirroring) with a larger AdamW step: a CPU has time for a few hundred iterations only."""

    INITIAL_LR = 2e-3
    WARMUP_FRACTION = 0.2
    EPOCHS = 4
    ITERATIONS = 50


class SwinUNETRTrainer_demo_smoke(SwinUNETRTrainer_demo):
    """Two iterations: proves in the test suite that SwinUNETR training runs, not that it learns."""

    EPOCHS = 1
    ITERATIONS = 2
