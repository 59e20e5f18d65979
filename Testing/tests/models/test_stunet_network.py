"""Our STU-Net matches the published one: state-dict names and shapes of all four sizes, parameter counts, forward
outputs against an independent functional reading of the published description, deep supervision."""

import pytest
import torch
import torch.nn.functional as F

from FLRSegmentationLib.errors import ModelError
from FLRSegmentationLib.models.stunet.network import SIZES, STUNet, plan_strides, size_of_trainer

# Published sizes: (base width, residual blocks per stage, parameters in millions with 1 input and 105 classes,
# as the STU-Net paper reports them).
PUBLISHED = {"small": (16, 1, 14.6), "base": (32, 1, 58.3), "large": (64, 2, 440.0), "huge": (96, 3, 1460.0)}
STRIDES = [[2, 2, 2]] * 4 + [[1, 1, 2]]


def published_shapes(in_channels: int, classes: int, base: int, depth: int) -> dict[str, tuple]:
    """Every state-dict key and shape of a published checkpoint, written from the published naming."""
    dims = [base * m for m in (1, 2, 4, 8, 16, 16)]
    shapes = {}

    def block(prefix, cin, cout, project):
        for conv, (i, k) in {"conv1": (cin, 3), "conv2": (cout, 3), **({"conv3": (cin, 1)} if project else {})}.items():
            shapes[f"{prefix}.{conv}.weight"] = (cout, i, k, k, k)
            shapes[f"{prefix}.{conv}.bias"] = (cout,)
        for norm in ("norm1", "norm2"):
            shapes[f"{prefix}.{norm}.weight"] = shapes[f"{prefix}.{norm}.bias"] = (cout,)

    for d in range(6):
        for j in range(depth):
            block(f"conv_blocks_context.{d}.{j}", (in_channels if d == 0 else dims[d - 1]) if j == 0 else dims[d],
                  dims[d], j == 0)
    for u in range(5):
        shapes[f"upsample_layers.{u}.conv.weight"] = (dims[-2 - u], dims[-1 - u], 1, 1, 1)
        shapes[f"upsample_layers.{u}.conv.bias"] = (dims[-2 - u],)
        for j in range(depth):
            block(f"conv_blocks_localization.{u}.{j}", 2 * dims[-2 - u] if j == 0 else dims[-2 - u], dims[-2 - u],
                  j == 0)
        shapes[f"seg_outputs.{u}.weight"] = (classes, dims[-2 - u], 1, 1, 1)
        shapes[f"seg_outputs.{u}.bias"] = (classes,)
    return shapes


@pytest.mark.parametrize("size", list(PUBLISHED))
def test_state_dict_keys_and_shapes_are_the_published_ones(size):
    base, depth, millions = PUBLISHED[size]
    spec = SIZES[size]
    with torch.device("meta"):  # nothing allocated, even for the 1.46 B parameters of huge
        network = STUNet(1, 105, spec.depth, spec.dims, STRIDES, [[3, 3, 3]] * 6)
    state = network.state_dict()
    assert all(t.is_meta for t in state.values())
    assert {k: tuple(v.shape) for k, v in state.items()} == published_shapes(1, 105, base, depth)
    assert list(network.buffers()) == []  # InstanceNorm keeps no running statistics
    count = sum(p.numel() for p in network.parameters()) / 1e6
    assert count == pytest.approx(millions, rel=0.005)


def reference_forward(state: dict, x: torch.Tensor, strides, depth: int) -> list[torch.Tensor]:
    """The published forward pass, step by step on the raw state dict: full resolution first."""

    def block(prefix, x, stride=1):
        y = F.conv3d(x, state[f"{prefix}.conv1.weight"], state[f"{prefix}.conv1.bias"], stride=stride, padding=1)
        y = F.leaky_relu(F.instance_norm(y, weight=state[f"{prefix}.norm1.weight"], bias=state[f"{prefix}.norm1.bias"]),
                         0.01)
        y = F.conv3d(y, state[f"{prefix}.conv2.weight"], state[f"{prefix}.conv2.bias"], padding=1)
        y = F.instance_norm(y, weight=state[f"{prefix}.norm2.weight"], bias=state[f"{prefix}.norm2.bias"])
        if f"{prefix}.conv3.weight" in state:
            x = F.conv3d(x, state[f"{prefix}.conv3.weight"], state[f"{prefix}.conv3.bias"], stride=stride)
        return F.leaky_relu(y + x, 0.01)

    skips = []
    for d in range(6):
        x = block(f"conv_blocks_context.{d}.0", x, strides[d - 1] if d else 1)
        for j in range(1, depth):
            x = block(f"conv_blocks_context.{d}.{j}", x)
        skips.append(x)
    x = skips.pop()
    heads = []
    for u in range(5):
        x = F.interpolate(x, scale_factor=[float(s) for s in strides[-1 - u]], mode="nearest")
        x = F.conv3d(x, state[f"upsample_layers.{u}.conv.weight"], state[f"upsample_layers.{u}.conv.bias"])
        x = torch.cat((x, skips.pop()), 1)
        for j in range(depth):
            x = block(f"conv_blocks_localization.{u}.{j}", x)
        heads.append(F.conv3d(x, state[f"seg_outputs.{u}.weight"], state[f"seg_outputs.{u}.bias"]))
    return heads[::-1]


def test_forward_equals_the_published_computation_with_deep_supervision():
    torch.manual_seed(0)
    strides = [[1, 2, 2], [2, 2, 2], [2, 2, 2], [1, 1, 1], [1, 1, 1]]
    network = STUNet(2, 3, depth=[2] * 6, dims=[4, 8, 8, 16, 16, 16], pool_op_kernel_sizes=strides,
                     conv_kernel_sizes=[[3, 3, 3]] * 6).eval()
    x = torch.randn(1, 2, 8, 32, 24)
    with torch.no_grad():
        outputs = network(x)
        expected = reference_forward(network.state_dict(), x, strides, depth=2)
    assert [tuple(o.shape) for o in outputs] == [(1, 3, 8, 32, 24), (1, 3, 8, 16, 12), (1, 3, 4, 8, 6),
                                                 (1, 3, 2, 4, 3), (1, 3, 2, 4, 3)]
    for ours, theirs in zip(outputs, expected):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_without_deep_supervision_only_the_full_resolution_logits():
    torch.manual_seed(1)
    network = STUNet(1, 2, dims=[4, 8, 16, 16, 16, 16], pool_op_kernel_sizes=[[2, 2, 2]] * 3 + [[1, 1, 1]] * 2,
                     enable_deep_supervision=False).eval()
    x = torch.randn(2, 1, 16, 24, 32)
    with torch.no_grad():
        plain = network(x)
        network.deep_supervision = True
        supervised = network(x)
    assert isinstance(plain, torch.Tensor) and plain.shape == (2, 2, 16, 24, 32)
    assert len(supervised) == 5
    torch.testing.assert_close(plain, supervised[0])


def test_trainer_names_give_the_published_sizes():
    assert size_of_trainer("STUNetTrainer") == "base"
    assert [size_of_trainer(f"STUNetTrainer_{s}_ft") for s in PUBLISHED] == list(PUBLISHED)
    assert size_of_trainer("STUNetTrainer_demo_smoke") == "demo"
    with pytest.raises(ModelError, match="not a known STU-Net trainer"):
        size_of_trainer("STUNetTrainer_giant")


def test_plan_strides_are_cut_or_padded_to_five():
    plan = [[1, 1, 1], [2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2]]
    assert plan_strides(plan) == [[2, 2, 2]] * 5
    assert plan_strides(plan[:4]) == [[2, 2, 2]] * 3 + [[1, 1, 1]] * 2
    with pytest.raises(ModelError, match="3D"):
        plan_strides([[1, 1], [2, 2]])
