"""What the device choice means for the user: which device runs, and how long the CPU will take.

Every CPU figure is a measurement, and the note names it: the last CPU run on this computer with the same model
and Fast option (scaled by the number of voxels), else for the demo models the benchmark in Testing/BENCHMARKS.md
(15.5 s for a 512 x 512 x 200 CT on 2 CPU cores, reading the CT and segmenting it). Full-size models have no run to scale from, so their note gives the measured
cost of one default-size nnU-Net network per 128^3 patch on 2 CPU cores (39 s, median of 3 passes of a 31 M
parameter 3d_fullres network, Testing/benchmark_full_size_cpu.py) times the 98 patches nnU-Net's sliding window
(step 0.5) takes for a 512 x 512 x 150 CT: about an hour per network even with Fast.
"""

from __future__ import annotations

from dataclasses import dataclass

DEVICES = ("auto", "cuda", "cpu")
DEVICE_TITLES = {"auto": "Auto (GPU if available)", "cuda": "GPU (CUDA)", "cpu": "CPU"}
FULL_SIZE_CPU_NOTE = ("Full-size models are far slower on a CPU than the small demo networks: a default-size "
                      "nnU-Net network took 39 s per 128^3 patch on 2 CPU cores, and a 512 x 512 x 150 CT needs 98 "
                      "patches, so expect about an hour per network even with Fast (up to 40 times that with "
                      "five folds and mirroring). Use a GPU.")


@dataclass(frozen=True)
class CpuTiming:
    """A finished CPU run: its wall time, the CT's voxels, the model and Fast option, and where the figure is from."""

    seconds: float
    voxels: int
    model_id: str = ""
    fast: bool = False
    basis: str = "measured on this computer"


DEMO_CPU_BENCHMARK = CpuTiming(15.5, 512 * 512 * 200, "demo-phantom", False,
                               "measured without Fast on 2 CPU cores, Testing/BENCHMARKS.md")


CHECKING_NOTE = "Checking whether PyTorch sees a GPU..."


def torch_problem_note(problem: str) -> str:
    """PyTorch is installed but does not load (the device check found out in a separate process)."""
    return f"PyTorch does not load in Slicer's Python ({problem}): reinstall it in the PyTorch Util module."


def runs_on_cpu(device: str, cuda: bool | None) -> bool:
    return device == "cpu" or (device == "auto" and not cuda)


def device_note(device: str, cuda: bool | None, voxels: int | None, model_id: str, demo: bool, fast: bool,
                last_cpu: CpuTiming | None) -> str:
    """One to three sentences for the label under the device choice."""
    if device == "cuda" and cuda is False:
        return "PyTorch sees no CUDA GPU here: choose Auto or CPU, or reinstall PyTorch for this GPU (PyTorch Util)."
    if not runs_on_cpu(device, cuda):
        return "Runs on the GPU." if cuda else "Runs on the GPU if PyTorch finds one, else on the CPU."
    note = "Runs on the CPU: much slower than a GPU (nnU-Net is built for GPUs)."
    same_run = last_cpu is not None and (last_cpu.model_id, last_cpu.fast) == (model_id, fast)
    timing = last_cpu if same_run else None
    if timing is None and demo:
        timing = DEMO_CPU_BENCHMARK
    if timing is None:
        return f"{note} {FULL_SIZE_CPU_NOTE}"
    measured = f"{timing.basis}: {format_duration(timing.seconds)} for {timing.voxels / 1e6:.1f} M voxels"
    if not voxels:
        return f"{note} Select a CT for an estimate ({measured})."
    estimate = timing.seconds * voxels / max(timing.voxels, 1)  # the start-up is not scaled: round small ones up
    expect = f"about {format_duration(estimate)}" if estimate >= 60 else "under a minute"
    return f"{note} Expect {expect} for this CT ({measured})."


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
