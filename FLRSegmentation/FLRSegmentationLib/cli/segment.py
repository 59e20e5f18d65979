"""The `flrseg segment`, `flrseg demo` and `flrseg phantom` commands: segment CTs, segment a generated phantom with
the demo model next to its truth, write phantoms."""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..errors import InputError
from ..imaging.ct_input import expand_inputs
from ..inference.postprocess import PostprocessRules
from ..inference.progress import ProgressReporter
from ..inference.segment_run import DEFAULT_MODEL, SegmentOptions, segment
from ..inference.speed_options import PRECISIONS, SpeedOptions
from ..inference.stage_io import CROP_MARGIN_MM
from ..research.phantom import clinical_grid, make_phantom
from ..vocabulary.stages import STRATEGIES
from ..volumetry.flr_thresholds import MEASURE_TITLES
from ..volumetry.result_warnings import DEMO_MODEL, warning_lines
from ..volumetry.segmentation_volumes import measure_label_map_volumes
from .pacs import add_dicomweb_options
from .volumetry import add_assessment_options, assessment_options_from, demo_warning

REPORT_COLUMNS = (("liver_ml", "liver mL"), ("crlm_ml", "CRLM mL"), ("functional_liver_ml", "functional mL"),
                  ("flr_ml", "FLR mL"), ("flr_percent", "FLR %"))


def add_segment_commands(sub) -> None:
    seg = sub.add_parser("segment", help="segment CT files or DICOM folders")
    seg.add_argument("inputs", nargs="*", type=Path, help="NIfTI, NRRD or MHA files, or DICOM series folders")
    seg.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    add_segment_options(seg)
    seg.add_argument("--cluster", metavar="local:N|tcp://HOST:PORT",
                     help="one Dask task per case: N local worker processes, or a running Dask scheduler's workers")
    seg.add_argument("--resume", action="store_true", help="with --cluster: skip the cases whose outputs are complete")
    seg.add_argument("--dicom-output", action=argparse.BooleanOptionalAction, default=None,
                     help="also write <case>_seg.dcm (DICOM SEG) and <case>_sr.dcm (TID 1500 SR) for a DICOM series "
                          "input (default: on for DICOM series folders)")
    add_dicomweb_options(seg)
    seg.set_defaults(func=cmd_segment)

    demo = sub.add_parser("demo", help="segment a generated phantom with the demo model and print the FLR report")
    demo.add_argument("-o", "--output", type=Path, default=Path("flrseg-demo-output"), help="output folder")
    demo.add_argument("--seed", type=int, default=7, help="the phantom's random seed")
    add_segment_options(demo)
    demo.set_defaults(func=cmd_demo)

    ph = sub.add_parser("phantom", help="write a synthetic abdominal CT phantom (and its labels)")
    ph.add_argument("output", type=Path, help="the CT file to write (.nii.gz, .nrrd, .mha)")
    ph.add_argument("--labels", type=Path, help="also write the true label map (1 liver, 2 CRLM, 3 FLR)")
    ph.add_argument("--seed", type=int, default=0, help="random seed: each seed is another anatomy")
    ph.add_argument("--clinical", action="store_true", help="512 x 512 x 150 at 0.8 x 0.8 x 2.5 mm, axial")
    ph.set_defaults(func=cmd_phantom)


def format_table(rows: list[dict], name_key: str = "case") -> str:
    """One line per case: volumes, FLR %, and the headline verdict on the measure its threshold's source used."""
    header = f"{name_key:<24}" + "".join(f"{title:>15}" for _, title in REPORT_COLUMNS) + "  verdict"
    lines = [header]
    for row in rows:
        values = "".join(f"{'n/a' if row[k] is None else f'{row[k]:.1f}':>15}" for k, _ in REPORT_COLUMNS)
        lines.append(f"{row[name_key]:<24}{values}  {_verdict_cell(row.get('headline'))}".rstrip())
    return "\n".join(lines)


def _verdict_cell(head: dict | None) -> str:
    """'insufficient on sFLR 15.5 % (minimum 20 %)'; FLR % standing in for sFLR says so."""
    if not head:
        return ""
    if head["value"] is None:
        return head["verdict"]
    title = MEASURE_TITLES[head["measure"]] + (" in place of sFLR" if head["substitute"] else "")
    return f"{head['verdict']} on {title} {head['value']:.1f} % (minimum {head['threshold_percent']:g} %)"


def add_segment_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL, help="registry id or package folder/zip")
    parser.add_argument("--strategy", choices=list(STRATEGIES), default="cascade",
                        help="cascade: liver, then CRLM and FLR in the liver's box; e2e: one network for all three")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="auto = the GPU when PyTorch sees one, else the CPU")
    parser.add_argument("--fast", action="store_true", help="first fold only, no test-time mirroring")
    parser.add_argument("--tile-overlap", type=tile_overlap, default=0.5, metavar="FRACTION",
                        help="overlap of neighbouring sliding-window tiles, 0 to 0.9 (default: %(default)s; 0 is "
                             "about 3x faster, with slightly rougher borders)")
    parser.add_argument("--no-mirroring", dest="mirroring", action="store_false",
                        help="no test-time mirroring (up to 8x faster where the model allows mirroring)")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="network arithmetic: auto = fp16 autocast on a GPU, fp32 on the CPU")
    parser.add_argument("--locator", metavar="MODEL",
                        help="a model whose liver stage finds the liver first (e.g. a low-resolution one)")
    parser.add_argument("--margin-mm", type=margin_mm, default=CROP_MARGIN_MM, help="liver box margin for stages 2-3")
    parser.add_argument("--preview", action=argparse.BooleanOptionalAction, default=True,
                        help="write <case>_preview.png: slices through the liver with the outlines, and the volumes")
    parser.add_argument("--progress", choices=["auto", "lines", "bar", "none"], default="auto",
                        help="lines: progress lines on stdout, for programs; bar: a bar on stderr; auto: a bar when "
                             "stderr is a terminal, nothing otherwise")
    for rule in PostprocessRules.__dataclass_fields__:
        parser.add_argument(f"--no-{rule.replace('_', '-')}", dest=rule, action="store_false",
                            help=f"turn off the post-processing rule {rule}")
    add_assessment_options(parser)


def tile_overlap(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 0.9:
        raise argparse.ArgumentTypeError(f"'{text}' is not a fraction from 0 to 0.9")
    return value


def margin_mm(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite margin of 0 mm or more")
    return value


def options_from(args) -> SegmentOptions:
    rules = PostprocessRules(**{rule: getattr(args, rule) for rule in PostprocessRules.__dataclass_fields__})
    speed = SpeedOptions(tile_step_size=round(1.0 - args.tile_overlap, 6), mirroring=args.mirroring,
                         precision=args.precision)
    return SegmentOptions(model=args.model, strategy=args.strategy, device=args.device, fast=args.fast,
                          rules=rules, margin_mm=args.margin_mm, quiet=not args.verbose,
                          assessment=assessment_options_from(args), speed=speed, locator=args.locator,
                          preview=args.preview)


def cmd_segment(args) -> int:
    if args.dicomweb or args.study or args.series or args.store:
        from .pacs import cmd_segment_pacs

        return cmd_segment_pacs(args)
    if not args.inputs:
        raise InputError("no input: give CT files or DICOM series folders, or --dicomweb URL --study UID")
    if args.cluster:
        return cmd_segment_cluster(args)
    if args.resume:
        raise InputError("--resume works with --cluster (a single-process run checks and writes every input)")
    reports = segment(expand_inputs(args.inputs), args.output, options_from(args), ProgressReporter(args.progress),
                      extra_outputs=dicom_extra_outputs(args))
    print(format_table(reports))
    print_warnings(reports)
    if reports:
        demo_warning(reports[0]["model"])  # one model made every case of the run
    return 0


def print_warnings(reports: list[dict]) -> None:
    """One line per warning under the table, each named by its case, on stderr (stdout holds only the table); the
    demo model's warning is demo_warning's line."""
    for report in reports:
        kept = [w for w in report.get("warnings") or () if w.get("code") != DEMO_MODEL]
        for line in warning_lines(kept):
            print_to_stderr(f"{report['case']}: {line}")


def dicom_extra_outputs(args):
    """The DICOM objects' writer unless --no-dicom-output; an explicit --dicom-output needs DICOM folder inputs."""
    if args.dicom_output is False:
        return None
    if args.dicom_output:
        files = [str(path) for path in args.inputs if not path.is_dir()]
        if files:
            raise InputError(f"--dicom-output needs DICOM series folders, and {', '.join(files)} is a file (no DICOM "
                             f"instances to refer to); give the series folder, or leave out --dicom-output")
    from ..hospital.dicom_outputs import dicom_outputs

    return dicom_outputs


def cmd_segment_cluster(args) -> int:
    """Exit 0 when every case is done (or already complete with --resume), 2 when any failed."""
    if args.dicom_output:
        raise InputError("--dicom-output is written by single-process runs only; leave out --cluster for DICOM objects")
    from ..cluster.batch import BatchRequest, run_batch  # Dask is imported only for a cluster run
    from ..cluster.batch_file import BATCH_FILE
    from ..cluster.connection import parse_cluster

    request = BatchRequest(expand_inputs(args.inputs), args.output, options_from(args), parse_cluster(args.cluster), args.resume,
                           args.verbose)
    records, reports = run_batch(request, ProgressReporter(args.progress), notify=print_to_stderr)
    if reports:
        print(format_table(reports))
        print_warnings(reports)
        demo_warning(reports[0]["model"])
    failed = sum(record["status"] == "failed" for record in records)
    if failed:
        print_to_stderr(f"flrseg: {failed} of {len(records)} case(s) failed; see {args.output / BATCH_FILE}")
        return 2
    return 0


def print_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_demo(args) -> int:
    """Generate a phantom in a private temporary folder, segment it, print the report next to the truth."""
    with tempfile.TemporaryDirectory(prefix="flrseg-demo-") as tmp:
        ct, truth = make_phantom(args.seed)
        path = Path(tmp) / f"phantom{args.seed}.nii.gz"
        sitk.WriteImage(ct, str(path), useCompression=True)
        reports = segment([path], args.output, options_from(args), ProgressReporter(args.progress))
    report = reports[0]
    reference = dict(measure_label_map_volumes(sitk.GetArrayFromImage(truth), truth.GetSpacing()), case="phantom truth")
    print(format_table([report, reference]))
    print(f"model: {report['model']['label']}; strategy: {report['strategy']}; outputs in {args.output}")
    print("\n".join(warning_lines(report["warnings"])))
    return 0


def cmd_phantom(args) -> int:
    grid = clinical_grid() if args.clinical else None
    ct, labels = make_phantom(args.seed, grid=grid)
    sitk.WriteImage(ct, str(args.output), useCompression=True)
    if args.labels:
        sitk.WriteImage(labels, str(args.labels), useCompression=True)
    print(f"wrote {args.output} ({'x'.join(map(str, ct.GetSize()))} voxels, "
          f"spacing {np.round(ct.GetSpacing(), 2).tolist()} mm)")
    return 0
