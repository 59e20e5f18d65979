"""The `flrseg resect` command: a resection plan applied to a segmentation (remnant, planned FLR %, tumour margins),
or, with --init, an initial plan to start from."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..resection.plan import COORDINATE_SYSTEMS
from ..resection.plan_rows import plan_rows
from ..resection.resect_run import INITIAL_KINDS, resect, write_initial_plan
from ..volumetry.rows import format_rows
from .volumetry import add_assessment_options, assessment_options_from, demo_warning_for_file


def add_resect_commands(sub) -> None:
    cmd = sub.add_parser("resect", help="apply a resection plan (planes, Bezier surfaces) to a segmentation: "
                                        "remnant, planned FLR %%, tumour margins")
    cmd.add_argument("segmentation", type=Path, help=".seg.nrrd (Liver, CRLM, optional FLR) or the engine's label map")
    cmd.add_argument("plan", type=Path, nargs="?", help="the plan file (JSON, README 'Virtual resection')")
    cmd.add_argument("-o", "--output", type=Path, help="output folder for <case>_resection.json, .seg.nrrd, .vtk")
    cmd.add_argument("--init", type=Path, metavar="PLAN.json",
                     help="write an initial plan (the initial placement) to this new file instead")
    cmd.add_argument("--init-type", choices=INITIAL_KINDS, default="plane",
                     help="with --init: a plane or a flat 4 x 4 Bezier patch (default: %(default)s)")
    cmd.add_argument("--coordinate-system", choices=COORDINATE_SYSTEMS, default="LPS",
                     help="with --init: the plan's coordinates, LPS (ITK, DICOM) or RAS (Slicer) (default: %(default)s)")
    add_assessment_options(cmd)
    cmd.set_defaults(func=cmd_resect)


def cmd_resect(args) -> int:
    if args.init:
        if args.plan or args.output:
            raise InputError("--init writes a plan and needs only the segmentation; drop PLAN and -o")
        plan = write_initial_plan(args.segmentation, args.init, args.init_type, args.coordinate_system)
        names = ", ".join(f"'{r['name']}' ({r['type']})" for r in plan["resections"])
        print(f"wrote the initial plan {args.init}: {names}, {plan['coordinate_system']} coordinates")
        return 0
    if not args.plan or not args.output:
        raise InputError("give the plan and the output folder: flrseg resect SEGMENTATION PLAN.json -o OUTDIR "
                         "(or --init PLAN.json to write a first plan)")
    options = assessment_options_from(args)
    result, paths = resect(args.segmentation, args.plan, args.output, options)
    demo_warning_for_file(args.segmentation)
    print(format_rows(plan_rows(result)))
    print(f"outputs: {', '.join(str(p) for p in paths.values())}")
    return 0
