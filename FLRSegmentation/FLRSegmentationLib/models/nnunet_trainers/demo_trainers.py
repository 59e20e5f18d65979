"""Short CPU trainings for the demo models (phantoms only, not for clinical use).

Mirroring is off in augmentation and at inference: the stages work in the canonical LPS orientation, where the
FLR's side (the patient's left of Cantlie's plane) is part of what the network must learn.
"""

import torch
from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer


class nnUNetTrainerFLRDemo(nnUNetTrainer):
    """The schedule of the large structures (liver, FLR): a few short epochs are enough on phantoms."""

    EPOCHS = 6
    ITERATIONS = 150
    OVERSAMPLE_FOREGROUND = 0.33  # nnU-Net's default

    def __init__(self, plans: dict, configuration: str, fold: int, dataset_json: dict,
                 device: torch.device = torch.device("cpu")):
        super().__init__(plans, configuration, fold, dataset_json, device)
        self.num_epochs = self.EPOCHS
        self.num_iterations_per_epoch = self.ITERATIONS
        self.num_val_iterations_per_epoch = 5
        self.save_every = self.EPOCHS + 1
        self.oversample_foreground_percent = self.OVERSAMPLE_FOREGROUND

    def configure_rotation_dummyDA_mirroring_and_inital_patch_size(self):
        rotation, dummy_2d, initial_patch_size, _ = super().configure_rotation_dummyDA_mirroring_and_inital_patch_size()
        self.inference_allowed_mirroring_axes = None
        return rotation, dummy_2d, initial_patch_size, None


class nnUNetTrainerFLRDemoLesion(nnUNetTrainerFLRDemo):
    """Metastases are a few percent of the liver: tiny networks need twice the epochs and more lesion patches."""

    EPOCHS = 12
    OVERSAMPLE_FOREGROUND = 0.66


class nnUNetTrainerFLRDemoLesionFinetune(nnUNetTrainerFLRDemoLesion):
    """The lesion schedule again, started from a trained stage's weights (nnUNetv2_train -pretrained_weights, which
    re-initialises the output heads); a separate name keeps its results folder apart from the first training's.
    A 4-epoch version of it left the CRLM region at Dice 0 after 2 epochs; the full 12 reached pseudo-Dice 0.9."""


class nnUNetTrainerFLRDemoSmoke(nnUNetTrainerFLRDemo):
    """Two iterations: proves in the test suite that the training pipeline runs, not that it learns."""

    EPOCHS = 1
    ITERATIONS = 2
