"""The SwinUNETR memory check: estimates that grow with the feature size and the patch, a refusal in one line
before anything runs, and an estimate that covers a real measured peak (Testing/benchmark_swinunetr_memory.py in a
child process)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from FLRSegmentationLib.errors import DeviceError
from FLRSegmentationLib.models.stunet.memory import GB, SAFETY
from FLRSegmentationLib.models.stunet.network import SIZES, STUNet
from FLRSegmentationLib.models.swinunetr.memory import estimate, require_memory
from FLRSegmentationLib.models.swinunetr.network import SwinUNETRSpec, build_swinunetr

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def networks():
    return {features: build_swinunetr(SwinUNETRSpec(features), 3, 2) for features in (12, 24, 48)}


def test_estimates_grow_with_the_feature_size_and_the_patch_and_count_every_weight(networks):
    estimates = {f: estimate(net, [96] * 3) for f, net in networks.items()}
    for features, net in networks.items():
        assert estimates[features].weights == 4 * sum(p.numel() for p in net.parameters())
    assert estimates[12].total < estimates[24].total < estimates[48].total
    assert estimate(networks[12], [64] * 3).activations < estimates[12].activations
    assert 0.2 * GB < estimates[12].activations < 2 * GB < estimate(networks[48], [192] * 3).activations


def test_a_patch_that_does_not_fit_is_refused_in_one_line(networks):
    with pytest.raises(DeviceError) as error:
        require_memory(networks[48], [256] * 3, torch.device("cpu"), "stage 'flr'", available=4 * GB)
    message = str(error.value)
    assert "\n" not in message
    assert re.search(r"stage 'flr': SwinUNETR \(feature size 48\) needs about \d+\.\d GB for one 256x256x256 patch, "
                     r"but cpu has 4\.0 GB free", message), message
    require_memory(networks[12], [96] * 3, torch.device("cpu"), "stage 'flr'", available=4 * GB)


def test_other_networks_are_not_checked():
    spec = SIZES["demo"]
    require_memory(STUNet(2, 2, spec.depth, spec.dims), [1024] * 3, torch.device("cpu"), "stage 'crlm'", available=0)


def test_estimate_covers_the_measured_peak_of_feature_size_12():
    done = subprocess.run([sys.executable, str(REPO / "Testing" / "benchmark_swinunetr_memory.py"), "--features",
                           "12", "--patch", "64"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    row = [line for line in done.stdout.splitlines() if line.startswith("12 |")][0]
    _, _, _, estimated, measured, *_ = [cell.strip() for cell in row.split("|")]
    assert 0.5 * float(estimated) < float(measured) <= SAFETY * float(estimated), row
