"""`flrseg segment --dicomweb URL --study UID [--series UID] [--store]` and `flrseg watch --dicomweb URL`: the PACS
round trip. Credentials come from the environment only (see hospital/dicomweb.py)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..inference.progress import ProgressReporter


def add_dicomweb_options(parser) -> None:
    parser.add_argument("--dicomweb", metavar="URL",
                        help="DICOMweb root of a PACS (e.g. http://pacs:8042/dicom-web): segment a study from it; "
                             "credentials from FLRSEG_DICOMWEB_TOKEN or FLRSEG_DICOMWEB_USER/_PASSWORD")
    parser.add_argument("--study", metavar="UID", help="with --dicomweb: the Study Instance UID")
    parser.add_argument("--series", metavar="UID", help="with --dicomweb: the CT series, where the study has several")
    parser.add_argument("--store", action="store_true", help="with --dicomweb: store the SEG and SR into the study")


def cmd_segment_pacs(args) -> int:
    from ..hospital.pacs_case import PacsRequest, segment_from_pacs
    from .segment import format_table, options_from

    if not (args.dicomweb and args.study):
        raise InputError("--study, --series and --store go with --dicomweb URL --study UID; give both")
    if args.inputs:
        raise InputError(f"--dicomweb takes the CT from the PACS: leave out the inputs ({args.inputs[0]}, ...)")
    if args.cluster or args.resume:
        raise InputError("--dicomweb segments one study in this process; leave out --cluster and --resume")
    if args.dicom_output is False:
        raise InputError("--dicomweb writes the DICOM SEG and SR it may store; leave out --no-dicom-output")
    result = segment_from_pacs(PacsRequest(args.dicomweb, args.study, args.series, args.store), args.output,
                               options_from(args), ProgressReporter(args.progress))
    print(format_table([result.report]))
    if result.stored:
        print(f"stored {result.outputs['dicom_seg'].name} and {result.outputs['dicom_sr'].name} into study "
              f"{args.study}")
    return 0
