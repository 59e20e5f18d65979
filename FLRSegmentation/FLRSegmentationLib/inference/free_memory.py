"""Give freed memory back to the operating system between the steps of a run.

glibc keeps freed heap blocks for reuse, and after large frees it raises its mmap threshold, so the resampling
pieces and tensors of one stage stay resident under the next stage's network: about 100 MB per stage on a
512 x 512 x 200 CT (Testing/BENCHMARKS.md). malloc_trim returns them; elsewhere (macOS, Windows, musl) this does
nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys


def _trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _trim()


def release_free_memory() -> None:
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
