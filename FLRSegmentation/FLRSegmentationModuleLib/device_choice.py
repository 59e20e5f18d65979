"""What the device choice means for the user: which device runs, and how long the CPU will take.

The CPU estimate scales the last CPU run measured on this computer by the number of voxels, so it is a figure
from this machine, not a guess; before any CPU run there is no figure and the note says so.
"""

from __future__ import annotations

from dataclasses import dataclass

DEVICES = ("auto", "cuda", "cpu")
DEVICE_TITLES = {"auto": "Auto (GPU if available)", "cuda": "GPU (CUDA)", "cpu": "CPU"}


@dataclass(frozen=True)
class CpuTiming:
    """A finished CPU run: its wall time and the number of CT voxels."""

    seconds: float
    voxels: int


def cuda_available() -> bool | None:
    """Whether PyTorch in this Python sees a CUDA GPU; None when PyTorch is not installed yet."""
    try:
        import torch
    except ImportError:
        return None
    return bool(torch.cuda.is_available())


def runs_on_cpu(device: str, cuda: bool | None) -> bool:
    return device == "cpu" or (device == "auto" and not cuda)


def device_note(device: str, cuda: bool | None, voxels: int | None, last_cpu: CpuTiming | None) -> str:
    """One or two sentences for the label under the device choice."""
    if device == "cuda" and cuda is False:
        return "PyTorch sees no CUDA GPU here: choose Auto or CPU, or reinstall PyTorch for this GPU (PyTorch Util)."
    if not runs_on_cpu(device, cuda):
        return "Runs on the GPU." if cuda else "Runs on the GPU if PyTorch finds one, else on the CPU."
    note = "Runs on the CPU: much slower than a GPU (nnU-Net is built for GPUs)."
    if last_cpu is None or not voxels:
        return note + " No CPU run measured on this computer yet."
    estimate = last_cpu.seconds * voxels / max(last_cpu.voxels, 1)
    return note + f" Expect about {format_duration(estimate)} for this CT (measured here: " \
                  f"{format_duration(last_cpu.seconds)} for {last_cpu.voxels / 1e6:.1f} M voxels)."


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
