"""The STU-Net memory check: estimates that grow with the size, a refusal in one line before anything runs, and an
estimate that covers a real measured peak (Testing/benchmark_stunet_memory.py in a child process)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from dynamic_network_architectures.architectures.unet import PlainConvUNet

from FLRSegmentationLib.errors import DeviceError
from FLRSegmentationLib.models.stunet.memory import GB, SAFETY, estimate, require_memory
from FLRSegmentationLib.models.stunet.network import SIZES, STUNet

REPO = Path(__file__).resolve().parents[3]
PATCH = [128, 128, 128]
PUBLISHED = ("small", "base", "large", "huge")


def meta_stunet(size: str) -> STUNet:
    spec = SIZES[size]
    with torch.device("meta"):
        return STUNet(2, 2, spec.depth, spec.dims, [[2, 2, 2]] * 5)


def test_estimates_grow_with_the_size_and_count_every_weight():
    estimates = [estimate(meta_stunet(size), PATCH) for size in PUBLISHED]
    for size, need in zip(PUBLISHED, estimates):
        assert need.weights == 4 * sum(p.numel() for p in meta_stunet(size).parameters())
    assert [e.activations for e in estimates] == sorted(e.activations for e in estimates)
    assert estimates[-1].total > 10 * GB > estimates[0].total  # huge needs over 10 GB, small about 1 GB


def test_a_size_that_does_not_fit_is_refused_in_one_line():
    with pytest.raises(DeviceError) as error:
        require_memory(meta_stunet("huge"), PATCH, torch.device("cpu"), "stage 'crlm'", available=4 * GB)
    message = str(error.value)
    assert "\n" not in message
    assert re.search(r"stage 'crlm': STU-Net huge needs about \d+\.\d GB for one 128x128x128 patch, but cpu has "
                     r"4\.0 GB free; use a smaller STU-Net size", message)
    with pytest.raises(DeviceError, match="--device cpu"):  # on a GPU the weights must move there too
        require_memory(meta_stunet("large"), PATCH, torch.device("cuda"), "stage 'crlm'", available=4 * GB)
    require_memory(meta_stunet("small"), PATCH, torch.device("cpu"), "stage 'crlm'", available=4 * GB)


def test_nnunet_networks_are_not_checked():
    with torch.device("meta"):
        plain = PlainConvUNet(1, 2, [4, 8], torch.nn.Conv3d, 3, [1, 2], 2, 2, 2)
    require_memory(plain, [1024] * 3, torch.device("cpu"), "stage 'liver'", available=0)


def test_estimate_covers_the_measured_peak_of_small():
    """The benchmark measures STU-Net S on one 128^3 patch in a child process; the check's figure must cover it."""
    done = subprocess.run([sys.executable, str(REPO / "Testing" / "benchmark_stunet_memory.py"), "--sizes", "small"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    row = [line for line in done.stdout.splitlines() if line.startswith("small |")][0]
    _, _, _, estimated, measured, *_ = [cell.strip() for cell in row.split("|")]
    assert 0.5 * float(estimated) < float(measured) <= SAFETY * float(estimated), row
