"""The networks a stage can run: nnU-Net's own architectures from the plans, and ours (STU-Net, SwinUNETR) by trainer
name.

A trainer whose name matches a NETWORK_BUILDERS predicate gets that builder; every other trainer gets nnU-Net's
architecture as its plans describe it. Networks to come register here, so inference and export need no change.
"""

from __future__ import annotations

from typing import Callable

import torch
from nnunetv2.utilities.get_network_from_plans import get_network_from_plans
from nnunetv2.utilities.plans_handling.plans_handler import ConfigurationManager, PlansManager

from .stunet.network import network_builders as stunet_builders
from .swinunetr.network import network_builders as swinunetr_builders

NetworkBuilder = Callable[[PlansManager, ConfigurationManager, int, int], torch.nn.Module]


def build_plain_network(plans_manager, configuration_manager, n_inputs: int, n_outputs: int) -> torch.nn.Module:
    """nnU-Net's own architectures (PlainConvUNet, ResEnc...) as the plans describe them, without deep supervision."""
    return get_network_from_plans(configuration_manager.network_arch_class_name,
                                  configuration_manager.network_arch_init_kwargs,
                                  configuration_manager.network_arch_init_kwargs_req_import,
                                  n_inputs, n_outputs, allow_init=False, deep_supervision=False)


# (trainer-name predicate, builder); the first match wins, nnU-Net's own architectures are the fallback.
NETWORK_BUILDERS: list[tuple[Callable[[str], bool], NetworkBuilder]] = [*stunet_builders(), *swinunetr_builders()]


def build_network(trainer: str, plans_manager, configuration_manager, n_inputs: int, n_outputs: int):
    for matches, builder in NETWORK_BUILDERS:
        if matches(trainer):
            return builder(plans_manager, configuration_manager, n_inputs, n_outputs)
    return build_plain_network(plans_manager, configuration_manager, n_inputs, n_outputs)
