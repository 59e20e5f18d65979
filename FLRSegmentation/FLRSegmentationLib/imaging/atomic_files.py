"""Replace a file all at once: write it under its own name in a private folder beside it, then rename it over.

The rename (os.replace) is atomic on one file system, so a reader sees the old file or the new one, never half of
one, and a crash before the rename leaves the old file intact. The private folder (mode 0700, a hidden name that
file listings skip: nnU-Net lists only the files of labelsTr) keeps the file's real name, so the format is still
chosen from the extension, and it is removed whatever happens.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

STAGING_PREFIX = ".flrseg-partial-"


def replace_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call write(staged_path) to make the new file, then move it over `path` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=path.parent))
    try:
        staged = staging / path.name
        write(staged)
        os.replace(staged, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_json_atomically(path: Path, data: dict) -> None:
    replace_atomically(path, lambda staged: staged.write_text(json.dumps(data, indent=2) + "\n"))


def copy_atomically(source: Path, target: Path) -> None:
    """A complete copy (contents and times) at `target`, or nothing there."""
    replace_atomically(target, lambda staged: shutil.copy2(source, staged))


def replace_together(writers: dict[Path, Callable[[Path], None]]) -> None:
    """Write every file under a staged name first, then move them all into place: all of them or none.

    A failure while writing leaves none of the targets changed; the renames come last and cannot fail for a
    reason the writing did not already meet (same folders, same file system)."""
    staged: dict[Path, Path] = {}
    stagings = []
    try:
        for path, write in writers.items():
            path = Path(path)
            staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=path.parent))
            stagings.append(staging)
            staged[path] = staging / path.name
            write(staged[path])
        for path, file in staged.items():
            os.replace(file, path)
    finally:
        for staging in stagings:
            shutil.rmtree(staging, ignore_errors=True)
