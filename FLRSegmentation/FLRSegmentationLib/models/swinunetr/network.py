"""SwinUNETR (Hatamizadeh et al., "Swin UNETR: Swin Transformers for Semantic Segmentation of Brain Tumors in MRI
Images", 2022; v2: "SwinUNETR-V2", 2023) for a cascade or E2E stage, built from MONAI's own class, not a copy.

A stage's network is described in its plans: our SwinUNETR trainers (models/nnunet_trainers/swinunetr_trainers.py)
write `swinunetr: {feature_size, use_v2, depths}` into the configuration they train, beside a patch size rounded to
multiples of 32 (MONAI's SwinUNETR halves every axis five times and refuses anything else in forward). Inference
builds the same network from the exported plans alone, so a package mixes SwinUNETR, STU-Net and nnU-Net stages
freely. The trainer name gives the defaults when the plans hold no description.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

from monai.networks.nets import SwinUNETR

from ...errors import ModelError

TRAINER_PREFIX = "SwinUNETRTrainer"
PLANS_KEY = "swinunetr"  # the configuration's entry our trainers write
DIVISOR = 32  # patch_size ** 5 with MONAI's default token size 2
NUM_HEADS = (3, 6, 12, 24)  # MONAI's default, as published


@dataclass(frozen=True)
class SwinUNETRSpec:
    feature_size: int = 48  # the published size, that of MONAI's self-supervised encoder
    use_v2: bool = False
    depths: tuple[int, ...] = (2, 2, 2, 2)

    @classmethod
    def from_dict(cls, fields: dict, where: str) -> "SwinUNETRSpec":
        try:
            spec = cls(int(fields.get("feature_size", cls.feature_size)), bool(fields.get("use_v2", cls.use_v2)),
                       tuple(int(d) for d in fields.get("depths", cls.depths)))
        except (TypeError, ValueError, AttributeError):
            raise ModelError(f"{where}: '{PLANS_KEY}' must hold feature_size (int), use_v2 (bool) and depths "
                             f"(four ints); it holds {fields!r}") from None
        if spec.feature_size <= 0 or spec.feature_size % 12 or len(spec.depths) != 4 or min(spec.depths) < 1:
            raise ModelError(f"{where}: SwinUNETR needs a feature size divisible by 12 and four depths of at least "
                             f"1; the plans give feature_size {spec.feature_size}, depths {list(spec.depths)}")
        return spec

    def to_dict(self) -> dict:
        return dict(asdict(self), depths=list(self.depths))


# Our names: the published size (v1 and v2), and "demo", small enough to train on a CPU in minutes.
TRAINER_SPECS = {
    "": SwinUNETRSpec(),
    "v2": SwinUNETRSpec(use_v2=True),
    "demo": SwinUNETRSpec(feature_size=12),
}


def is_swinunetr_trainer(trainer: str) -> bool:
    return trainer == TRAINER_PREFIX or trainer.startswith(TRAINER_PREFIX + "_")


def variant_of_trainer(trainer: str) -> str:
    """'SwinUNETRTrainer' -> '' (published v1), 'SwinUNETRTrainer_v2_ft' -> 'v2', 'SwinUNETRTrainer_demo' -> 'demo'."""
    if not is_swinunetr_trainer(trainer):
        raise ModelError(f"'{trainer}' is not a SwinUNETR trainer (names start with {TRAINER_PREFIX})")
    parts = trainer.split("_")
    return parts[1] if len(parts) > 1 and parts[1] in TRAINER_SPECS else ""


def spec_of_plans(configuration: dict, default: SwinUNETRSpec, where: str) -> SwinUNETRSpec:
    """The description the trainer wrote into the configuration, else the trainer name's defaults."""
    if PLANS_KEY in configuration:
        return SwinUNETRSpec.from_dict(configuration[PLANS_KEY], where)
    return default


def round_patch(patch: Sequence[int]) -> list[int]:
    """Each axis to the nearest multiple of 32 (halves up), at least 32: SwinUNETR's forward accepts nothing else."""
    return [max(DIVISOR, int(p / DIVISOR + 0.5) * DIVISOR) for p in patch]


def check_patch(patch: Sequence[int]) -> None:
    if len(patch) != 3 or any(int(p) % DIVISOR for p in patch):
        shown = "x".join(str(int(p)) for p in patch)
        raise ModelError(f"SwinUNETR needs a 3D patch size divisible by {DIVISOR} on every axis, the plans give "
                         f"{shown}; train it with a SwinUNETR trainer, which rounds the patch "
                         f"(e.g. {'x'.join(map(str, round_patch(patch)))})")


def build_swinunetr(spec: SwinUNETRSpec, in_channels: int, out_channels: int) -> SwinUNETR:
    return SwinUNETR(in_channels=in_channels, out_channels=out_channels, feature_size=spec.feature_size,
                     depths=spec.depths, num_heads=NUM_HEADS, use_v2=spec.use_v2, spatial_dims=3)


def spec_of_network(network: SwinUNETR) -> SwinUNETRSpec:
    """The description of a built network, read from its modules (MONAI keeps no copy of its arguments)."""
    vit = network.swinViT
    depths = tuple(len(getattr(vit, f"layers{i}")[0].blocks) for i in range(1, 5))
    return SwinUNETRSpec(vit.patch_embed.proj.out_channels, hasattr(vit, "layers1c"), depths)


def network_from_plans(variant: str, configuration_manager, n_inputs: int, n_outputs: int) -> SwinUNETR:
    """The stage's SwinUNETR; one logits tensor (MONAI's SwinUNETR has no deep supervision)."""
    check_patch(configuration_manager.patch_size)
    spec = spec_of_plans(configuration_manager.configuration, TRAINER_SPECS[variant], "SwinUNETR plans")
    return build_swinunetr(spec, n_inputs, n_outputs)


def network_builders() -> list:
    """(trainer-name predicate, builder) pairs for network_builders.NETWORK_BUILDERS, one per variant."""

    def pair(variant: str):
        def matches(trainer: str) -> bool:
            return is_swinunetr_trainer(trainer) and variant_of_trainer(trainer) == variant

        def build(plans_manager, configuration_manager, n_inputs: int, n_outputs: int) -> SwinUNETR:
            return network_from_plans(variant, configuration_manager, n_inputs, n_outputs)

        return matches, build

    return [pair(variant) for variant in TRAINER_SPECS]
