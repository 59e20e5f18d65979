"""Load nnU-Net checkpoints without letting a malicious pickle run code.

`torch.load(weights_only=True)` refuses every global it does not know. Stock nnU-Net checkpoints only add numpy
scalars and dtypes (in their logging state), so exactly those are allowed; anything else in a file is refused
with a message that names it (docs/DATASET.md section 3).
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import torch

from ..errors import ModelError


def _numpy_allow_list() -> list:
    """numpy scalar reconstruction and dtype classes, under both numpy 2 and numpy 1 module names."""
    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # numpy 1
        from numpy.core.multiarray import scalar
    dtypes = [type(np.dtype(t)) for t in ("f4", "f8", "i4", "i8", "u1", "b1")]
    return [np.dtype, *dtypes, (scalar, "numpy._core.multiarray.scalar"), (scalar, "numpy.core.multiarray.scalar")]


ALLOWED_GLOBALS = _numpy_allow_list()


def refused_global(message: str) -> str:
    """The global torch's weights_only unpickler refused, from its message (which words it several ways)."""
    found = re.search(r"GLOBAL ([\w.]+)", message) or re.search(r"Unsupported global: ([\w.]+)", message)
    return f"global {found.group(1)}" if found else message.strip().splitlines()[-1][:120]


def load_checkpoint(path: Path) -> dict:
    """A checkpoint's dict, loaded with weights_only=True and the numpy allow-list above."""
    try:
        with torch.serialization.safe_globals(ALLOWED_GLOBALS):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ModelError(f"{path.name}: refused to load, it contains a Python object outside the allow-list "
                         f"({refused_global(str(exc))}); only use checkpoints from a trusted source") from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise ModelError(f"{path}: not a readable PyTorch checkpoint ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(checkpoint, dict):
        raise ModelError(f"{path.name}: not an nnU-Net checkpoint (expected a dict, found {type(checkpoint).__name__})")
    return checkpoint


def network_weights(checkpoint: dict, path: Path) -> dict:
    """The state dict: nnU-Net v2 keeps it under `network_weights`, v1 under `state_dict`."""
    for key in ("network_weights", "state_dict"):
        if key in checkpoint:
            return checkpoint[key]
    raise ModelError(f"{path.name}: no network weights in the checkpoint (keys: {', '.join(map(str, checkpoint))})")
