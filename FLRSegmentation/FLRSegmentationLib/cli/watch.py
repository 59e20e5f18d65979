"""`flrseg watch --dicomweb URL -o OUTDIR`: process each new CT study of a PACS once (hospital/watch.py)."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from pathlib import Path

from ..errors import InputError
from .segment import add_segment_options, options_from


def add_watch_command(sub) -> None:
    watch = sub.add_parser("watch", help="poll a PACS (DICOMweb) for new CT studies and segment each once")
    watch.add_argument("--dicomweb", metavar="URL", required=True,
                       help="DICOMweb root; credentials from FLRSEG_DICOMWEB_TOKEN or FLRSEG_DICOMWEB_USER/_PASSWORD")
    watch.add_argument("-o", "--output", type=Path, required=True,
                       help="output folder: every study's outputs and the record flrseg_watch.json")
    watch.add_argument("--since", type=study_date, default=date.today().strftime("%Y%m%d"), metavar="YYYYMMDD",
                       help="studies dated from this day on (default: today)")
    watch.add_argument("--interval", type=float, default=60.0, metavar="SECONDS", help="between polls (default 60)")
    watch.add_argument("--once", action="store_true", help="poll once and exit (2 if a study failed)")
    watch.add_argument("--store", action="store_true", help="store each study's SEG and SR into it")
    add_segment_options(watch)
    watch.set_defaults(func=cmd_watch)


def study_date(text: str) -> str:
    try:
        datetime.strptime(text, "%Y%m%d")
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date as YYYYMMDD (e.g. 20260115)") from None
    return text


def cmd_watch(args) -> int:
    from ..hospital.watch import WatchOptions, watch

    if args.interval <= 0:
        raise InputError(f"--interval {args.interval:g}: give a positive number of seconds")
    options = WatchOptions(args.dicomweb.rstrip("/"), args.output, args.since, args.store, options_from(args))
    return watch(options, args.interval, args.once, notify=lambda line: print(line, flush=True))
