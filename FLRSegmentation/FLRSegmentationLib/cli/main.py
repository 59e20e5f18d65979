"""The `flrseg` command: one parser with every command group, and the one place errors become exit codes.

Commands of optional packages that import the engine (`serve`, from FLRSegmentationWeb) are found by name when
that package is on the path and add their own parser: the engine never imports them (import-linter sees no arrow),
and without the package `flrseg` simply has no such command (the Slicer extension ships without it).

Errors the user can fix are one line on stderr with exit code 2; a cancelled run exits 130 (SIGINT) or 143
(SIGTERM) after removing its temporary files; nothing prints a traceback unless --verbose.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import signal
import sys
import traceback

from .. import __version__
from ..errors import FLRSegError
from .dataset import add_dataset_commands
from .research import add_research_commands
from .resect import add_resect_commands
from .segment import add_segment_commands
from .volumetry import add_volumetry_commands
from .watch import add_watch_command

# (package, module, function(subparsers)) of each optional command group
OPTIONAL_COMMANDS = (("FLRSegmentationWeb", "FLRSegmentationWeb.command", "add_serve_command"),)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flrseg", description="Liver, CRLM and FLR segmentation from CT.")
    parser.add_argument("--version", action="version", version=f"flrseg {__version__}")
    parser.add_argument("--verbose", action="store_true", help="show library output and tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    add_segment_commands(sub)
    add_watch_command(sub)
    add_volumetry_commands(sub)
    add_resect_commands(sub)
    add_dataset_commands(sub)
    add_research_commands(sub)
    add_optional_commands(sub)
    for command in sub.choices.values():
        with_common_conventions(command)
    return parser


class DefaultsShown(argparse.HelpFormatter):
    """Adds "(default: X)" to an option's help unless it says its default already, or has none to show (an
    on/off flag such as --fast or --no-mirroring is off unless given)."""

    def _get_help_string(self, action):
        text = action.help or ""
        flag = action.nargs == 0 and not isinstance(action, argparse.BooleanOptionalAction)
        if "(default" in text or flag or not action.option_strings or action.default in (None, argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


def with_common_conventions(command: argparse.ArgumentParser) -> None:
    """Every command shows its options' defaults in --help and takes --verbose after its name too (as
    `flrseg segment ... --verbose`); the default is left unset so `flrseg --verbose segment` still counts."""
    command.formatter_class = DefaultsShown
    if "--verbose" not in command._option_string_actions:
        command.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                             help="show library output and tracebacks")


def add_optional_commands(sub) -> None:
    for package, module, function in OPTIONAL_COMMANDS:
        if importlib.util.find_spec(package) is not None:
            getattr(importlib.import_module(module), function)(sub)


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return args.func(args)
    except FLRSegError as exc:
        print(f"flrseg: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("flrseg: cancelled", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: one line, the traceback only on request
        if args.verbose:
            traceback.print_exc()
        print(f"flrseg: internal error: {type(exc).__name__}: {exc} (run with --verbose for details)",
              file=sys.stderr)
        return 1

