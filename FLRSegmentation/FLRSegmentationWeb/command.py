"""`flrseg serve`: its arguments and the checks that refuse a bad start in one line, before trame is imported.

The engine's CLI imports this module by name when it is installed (FLRSegmentationLib.cli.main); at load time it
imports only what the CLI has loaded already (the engine's errors and CT header check), so `flrseg segment` never
pays for trame, MRML or the rest of the web app (tests/web/test_serve_command.py checks it).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.imaging.ct_input import check_input

from .access import TOKEN_ENV, checked_token

WEB_PACKAGES = ("trame", "trame_slicer", "slicer", "slicer_layer_dm")  # slicer-layer-dm is installed --no-deps
INSTALL_HINT = ("pip install -e '.[web]' and pip install --no-deps slicer-layer-dm==2.0.0 "
                "(setup.sh does both; README, section `flrseg serve`)")


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    token: str | None
    open: Path | None
    data_root: Path | None
    models_folder: Path | None
    timeout: int
    auth_key: str | None


def add_serve_command(sub) -> None:
    parser = sub.add_parser("serve", help="the planning workflow in a browser (the `web` extra)",
                            description="Serve the planning page: open a CT, run the cascade, correct the segments, "
                                        f"read FLR % live. Listens on 127.0.0.1; another --host needs {TOKEN_ENV} "
                                        "set in the environment.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    parser.add_argument("--open", type=Path, metavar="CT", help="a CT file or DICOM folder to open at the start")
    parser.add_argument("--data-root", type=Path, metavar="DIR",
                        help="the page may open CT files and DICOM folders inside DIR on the server (no other)")
    parser.add_argument("--models-folder", type=Path, metavar="DIR", help="installed model packages besides the demos")
    parser.add_argument("--timeout", type=int, default=0, metavar="S",
                        help="exit S seconds after the last browser left (0: never; trame's launcher sets it)")
    parser.add_argument("--auth-key", help="websocket secret handed over by trame's launcher (one process per session)")
    parser.set_defaults(func=serve)


def serve(args: argparse.Namespace) -> int:
    options = checked_options(args, os.environ)
    missing = [name for name in WEB_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise InputError(f"flrseg serve needs the web extra ({', '.join(missing)} missing): {INSTALL_HINT}")
    from .server import run_server

    return run_server(options)


def checked_options(args: argparse.Namespace, environ) -> ServeOptions:
    """The options, or one InputError naming what is wrong: host without token, bad port, folders, --open CT."""
    token = checked_token(args.host, environ.get(TOKEN_ENV) or None)
    if not 0 < args.port < 65536:
        raise InputError(f"--port {args.port} is not a TCP port; use 1-65535")
    for flag, folder in (("--data-root", args.data_root), ("--models-folder", args.models_folder)):
        if folder is not None and not folder.is_dir():
            raise InputError(f"{flag} {folder} is not a folder; give an existing one")
    if args.open is not None:
        check_input(args.open)
    return ServeOptions(args.host, args.port, token, args.open, args.data_root, args.models_folder, args.timeout,
                        args.auth_key)
