"""Run nnunetv2's own command-line tools, each printed before it runs so a recipe can be repeated by hand.

Shared by `flrseg train` and the demo-model recipe: the nnU-Net folder variables, our trainer folder (found by
nnunetv2 through nnUNet_extTrainer), the tools installed beside this Python, and a runner that turns a failing
tool into one line instead of a traceback.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from ..errors import FLRSegError
from ..models import nnunet_trainers

TRAINERS_DIR = Path(nnunet_trainers.__file__).parent
FOLDER_VARIABLES = ("nnUNet_raw", "nnUNet_preprocessed", "nnUNet_results")


class NnunetCommandError(FLRSegError):
    """An nnunetv2 tool failed; its own messages are on the screen above ours."""

    exit_code = 1


def nnunet_env(raw: Path, preprocessed: Path, results: Path, **settings: str) -> dict[str, str]:
    """This process's environment with the three nnU-Net folders, our trainers ahead of any the user has in
    nnUNet_extTrainer, and `settings` (e.g. nnUNet_n_proc_DA) where the user has not set them already."""
    env = dict(os.environ)
    env.update(nnUNet_raw=str(raw), nnUNet_preprocessed=str(preprocessed), nnUNet_results=str(results))
    env["nnUNet_extTrainer"] = os.pathsep.join(p for p in (str(TRAINERS_DIR), env.get("nnUNet_extTrainer")) if p)
    for name, value in settings.items():
        env.setdefault(name, value)
    return env


def exports(env: dict[str, str], names=(*FOLDER_VARIABLES, "nnUNet_extTrainer")) -> str:
    """The `export` lines that give a shell the same nnU-Net settings, to rerun the printed commands."""
    return "\n".join(f"export {name}={shlex.quote(env[name])}" for name in names if name in env)


def nnunet_tool(name: str) -> str:
    """The nnunetv2 entry point installed beside this Python (the same nnunetv2 the engine imports)."""
    return str(Path(sys.executable).parent / name)


def format_command(cmd: list[str]) -> str:
    return "+ " + " ".join(shlex.quote(c) for c in cmd)


def run(cmd: list[str], env: dict[str, str], dry_run: bool = False) -> None:
    """Print the command; unless dry_run, run it and raise NnunetCommandError if it fails."""
    print(format_command(cmd), flush=True)
    if dry_run:
        return
    result = subprocess.run(cmd, env=env)
    if result.returncode != 0:
        raise NnunetCommandError(f"{Path(cmd[0]).name} failed with exit code {result.returncode}; "
                                 f"its messages are above")
