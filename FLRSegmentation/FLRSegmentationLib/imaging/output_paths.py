"""Inputs are sacred: no output path (a folder or an explicit file) may equal or sit inside an input or a
reference, and no file a run writes may replace one. Checked before anything runs, on real paths (links
followed), so `segment A.nii.gz A_seg.nii.gz -o .` or `volumetry X.seg.nrrd --html X.seg.nrrd` is refused up front.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _same_or_inside(path: Path, other: Path) -> bool:
    """path is other, or lies inside other (other a folder); both real paths."""
    return path == other or (other.is_dir() and path.is_relative_to(other))


def check_apart(outputs: list[tuple[str, Path]], inputs: list[tuple[str, Path]]) -> None:
    """Refuse any output (what, path) that is, or sits inside, an input (what, path)."""
    real_inputs = [(what, path, _real(path)) for what, path in inputs]
    for out_what, out in outputs:
        real_out = _real(out)
        for in_what, path, real_in in real_inputs:
            if _same_or_inside(real_out, real_in) or (real_out.exists() and real_in.exists()
                                                      and os.path.samefile(real_out, real_in)):
                raise InputError(f"{out_what} {out} would overwrite or write inside {in_what} {path}; an input is "
                                 f"never changed, choose another output path")


def check_export_file(path: Path, option: str) -> None:
    """An explicit output file: not a folder, in a folder that exists and can be written."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"{option} {path} is a folder; give a file name")
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{option} {path}: the folder {folder} does not exist or can't be written; create it or "
                         f"choose another")
