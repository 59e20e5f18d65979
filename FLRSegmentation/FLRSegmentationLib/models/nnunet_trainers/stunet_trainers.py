"""STU-Net trainers for nnunetv2 2.8: `nnUNetv2_train D 3d_fullres FOLD -tr STUNetTrainer_small` (found through
nnUNet_extTrainer).

Names and learning rates are the published ones (`STUNetTrainer` is the base size; `_ft` fine-tunes with lr 1e-3);
the network is ours (FLRSegmentationLib.models.stunet), built through nnunetv2 2.8's build_network_architecture
signature. To start from a pretrained STU-Net (v1 `.model` or v2 `.pth`), set FLRSEG_STUNET_PRETRAINED to its path:
it is read with weights_only=True, its first layer repeated over extra input channels, its heads replaced when the
classes differ. nnUNetv2_train's own -pretrained_weights reads the pickle without weights_only and can do neither.
"""

import os

import torch
from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

from FLRSegmentationLib.models.nnunet_trainers.demo_trainers import nnUNetTrainerFLRDemoLesion
from FLRSegmentationLib.models.stunet.network import network_from_plans, size_of_trainer
from FLRSegmentationLib.models.stunet.pretrained import PRETRAINED_VARIABLE, load_pretrained


class STUNetTrainer(nnUNetTrainer):
    """The base size, as published."""

    INITIAL_LR = 1e-2

    def __init__(self, plans: dict, configuration: str, fold: int, dataset_json: dict,
                 device: torch.device = torch.device("cuda")):
        super().__init__(plans, configuration, fold, dataset_json, device)
        self.initial_lr = self.INITIAL_LR

    @classmethod
    def build_network_architecture(cls, plans_manager, configuration_manager, num_input_channels: int,
                                   num_output_channels: int, enable_deep_supervision: bool = True):
        return network_from_plans(size_of_trainer(cls.__name__), configuration_manager, num_input_channels,
                                  num_output_channels, enable_deep_supervision)

    def _plain_network(self) -> torch.nn.Module:
        """The STU-Net itself, inside any DDP or torch.compile wrapper."""
        network = self.network.module if self.is_ddp else self.network
        return getattr(network, "_orig_mod", network)

    def initialize(self):
        super().initialize()
        pretrained = os.environ.get(PRETRAINED_VARIABLE)
        if pretrained:
            notes = load_pretrained(self._plain_network(), pretrained)
            self.print_to_log_file(f"STU-Net initialised from pretrained {pretrained}" +
                                   "".join(f"\n  {note}" for note in notes), also_print_to_console=True)

    def set_deep_supervision_enabled(self, enabled: bool):
        self._plain_network().deep_supervision = enabled


class STUNetTrainer_small(STUNetTrainer):
    pass


class STUNetTrainer_small_ft(STUNetTrainer_small):
    INITIAL_LR = 1e-3


class STUNetTrainer_base(STUNetTrainer):
    pass


class STUNetTrainer_base_ft(STUNetTrainer_base):
    INITIAL_LR = 1e-3


class STUNetTrainer_large(STUNetTrainer):
    pass


class STUNetTrainer_large_ft(STUNetTrainer_large):
    INITIAL_LR = 1e-3


class STUNetTrainer_huge(STUNetTrainer):
    pass


class STUNetTrainer_huge_ft(STUNetTrainer_huge):
    INITIAL_LR = 1e-3


class STUNetTrainer_demo(STUNetTrainer, nnUNetTrainerFLRDemoLesion):
    """Our CPU-sized STU-Net ("demo" in stunet.network.SIZES) on phantoms: the demo lesion trainer (lesion
    oversampling, no mirroring) with a shorter schedule: on the CRLM stage its pseudo Dice was 0.80, 0.91, 0.92 and
    0.93 after each epoch, and an epoch of 100 iterations took 6.5 to 13 minutes on 2 shared CPU cores."""

    EPOCHS = 4
    ITERATIONS = 100


class STUNetTrainer_demo_smoke(STUNetTrainer_demo):
    """Two iterations: proves in the test suite that STU-Net training runs, not that it learns."""

    EPOCHS = 1
    ITERATIONS = 2
