"""The engine's speed switches, each on its own so the benchmark can measure it, and the naive cascade they replace.

Exact (the labels are those of the same computation without the switch; tests and the benchmark count voxels):
- lean: nnU-Net's preprocessing, tiling and export restricted to the tiles and voxels a box needs (region_prediction),
  instead of nnU-Net's whole-image predict_single_npy_array; never a whole-image probability map of all classes;
- in_memory: stage inputs and outputs stay arrays; off, every stage reads its inputs from and writes its output to
  compressed NIfTI files, as chained command-line runs would.
Near-exact:
- locate: find the liver first on a binned CT with the liver stage's fast configuration (one fold, no mirroring, no
  tile overlap), then run the liver stage on that box plus the margin, grown to at least one tile; only context
  beyond the margin is lost. Skipped where it would not save work (a coarse model whose tile covers the abdomen).
A design choice, not an approximation:
- crop: stages 2-3 see the CT cropped to the liver box plus the margin, as they were trained (stage_io.py); off, they
  see the whole volume, as in the naive cascade (with the demo models that is less accurate: Testing/BENCHMARKS.md).
Trade-offs of accuracy against time (README): tile_step_size (1 - tile overlap), mirroring (test-time mirroring),
precision (autocast on the GPU).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

PRECISIONS = ("auto", "fp32", "fp16", "bf16")  # auto: nnU-Net's own (fp16 autocast on CUDA, fp32 on the CPU)


@dataclass(frozen=True)
class SpeedOptions:
    locate: bool = True
    lean: bool = True
    in_memory: bool = True
    crop: bool = True
    tile_step_size: float = 0.5
    mirroring: bool = True
    precision: str = "auto"

    def __post_init__(self):
        if not 0.0 < self.tile_step_size <= 1.0:
            raise ValueError(f"tile step {self.tile_step_size} is outside (0, 1]")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision '{self.precision}' is not one of {', '.join(PRECISIONS)}")

    @classmethod
    def naive(cls, **kw) -> "SpeedOptions":
        """Every stage on the whole volume with nnU-Net's own whole-image prediction, files between stages."""
        return cls(locate=False, lean=False, in_memory=False, crop=False, **kw)

    def without(self, switch: str) -> "SpeedOptions":
        return replace(self, **{switch: False})

    def as_dict(self) -> dict:
        return asdict(self)


SWITCHES = ("locate", "lean", "in_memory", "crop")  # each one the benchmark turns off on its own
