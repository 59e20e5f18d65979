"""The `flrseg volumetry` and `flrseg pve` commands, and the patient options `flrseg segment` shares with them.

volumetry: measure one segmentation, judge FLR % and sFLR against the threshold, print the rows, export them.
pve: measure the segmentations before and after portal vein embolisation and report DH and KGR (needs height and
weight, as both are defined on sFLR; one body size serves both studies).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..errors import InputError
from ..imaging.atomic_files import replace_together
from ..imaging.dicom_study import study_text
from ..imaging.output_paths import check_apart, check_export_file
from ..imaging.provenance import file_provenance, report_model
from ..volumetry.body_size import BSA_FORMULAS, HEIGHT_RANGE_CM, WEIGHT_RANGE_KG
from ..volumetry.export import DEMO_MARK, embedded_image, write_csv, write_html, write_json
from ..volumetry.flr_assessment import AssessmentOptions, assess
from ..volumetry.flr_thresholds import CONDITIONS, NORMAL_THRESHOLDS
from ..volumetry.pve_follow_up import check_weeks, pve_result
from ..volumetry.result_warnings import warning_lines
from ..volumetry.rows import format_rows, pve_rows, volumetry_rows, warning_rows
from ..volumetry.segmentation_volumes import measure_segmentation, parse_segment_names


def add_assessment_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--height-cm", type=float, help=f"patient height, {HEIGHT_RANGE_CM[0]:g}-"
                        f"{HEIGHT_RANGE_CM[1]:g} cm (with --weight-kg: BSA, estimated TLV, sFLR)")
    parser.add_argument("--weight-kg", type=float, help=f"patient weight, {WEIGHT_RANGE_KG[0]:g}-"
                        f"{WEIGHT_RANGE_KG[1]:g} kg")
    parser.add_argument("--bsa-formula", choices=list(BSA_FORMULAS), default="mosteller",
                        help="body surface area formula for the estimated TLV")
    parser.add_argument("--condition", choices=list(CONDITIONS), default="normal",
                        help="liver condition, which sets the minimum FLR (default: %(default)s)")
    parser.add_argument("--normal-threshold", type=float, choices=list(NORMAL_THRESHOLDS),
                        default=NORMAL_THRESHOLDS[0], help="minimum FLR %% for a normal liver (default: %(default)g)")


def assessment_options_from(args) -> AssessmentOptions:
    return AssessmentOptions(args.height_cm, args.weight_kg, args.bsa_formula, args.condition, args.normal_threshold)


def add_volumetry_commands(sub) -> None:
    vol = sub.add_parser("volumetry", help="FLR %%, sFLR and the verdict from a segmentation (.seg.nrrd or label map)")
    vol.add_argument("segmentation", type=Path, help=".seg.nrrd (e.g. edited in Slicer) or the engine's label map")
    _add_measure_options(vol)
    vol.set_defaults(func=cmd_volumetry)

    pve = sub.add_parser("pve", help="degree of hypertrophy and kinetic growth rate after portal vein embolisation")
    pve.add_argument("before", type=Path, help="segmentation before PVE")
    pve.add_argument("after", type=Path, help="segmentation after PVE")
    pve.add_argument("--weeks", type=float, required=True, help="weeks between PVE and the second CT")
    _add_measure_options(pve)
    pve.set_defaults(func=cmd_pve)


def cmd_volumetry(args) -> int:
    options, names, model = _checked_inputs(args, [("the segmentation", args.segmentation)])
    volumes, provenance = measure_segmentation(args.segmentation, names)
    result = {**assess(volumes, options), "provenance": provenance}
    model = model or report_model(provenance)
    rows = volumetry_rows(result)
    _export(args, result, rows, f"FLR volumetry: {args.segmentation.name}", model, [], result["headline"],
            _report_pictures(args.segmentation, provenance))
    demo_warning(model)
    print(result["headline"]["sentence"])
    print(format_rows(rows))
    for line in warning_lines(result["warnings"]):
        print(f"flrseg: {line}", file=sys.stderr)  # under the table; stdout holds the headline and the table
    return 0


def cmd_pve(args) -> int:
    options, names, model = _checked_inputs(args, [("the segmentation", args.before), ("the segmentation", args.after)])
    if options.body_size is None:
        raise InputError("pve needs --height-cm and --weight-kg: hypertrophy and growth rate are defined on sFLR")
    check_weeks(args.weeks)
    (before, before_made), (after, after_made) = (measure_segmentation(p, names) for p in (args.before, args.after))
    result = pve_result(assess(before, options), assess(after, options), args.weeks)
    result["provenance"] = {"before": before_made, "after": after_made}
    made = [report_model(p) for p in (after_made, before_made) if p]
    model = model or (made[0] if made else None)
    if any(m["demo"] for m in made):
        model = {**model, "demo": True}  # one demo-made study marks the whole comparison
    demo_warning(model)
    rows = pve_rows(result)
    _export(args, result, rows, f"FLR growth after PVE: {args.before.name} -> {args.after.name}", model,
            [result["kgr_warning"]])
    print(format_rows(rows))
    if result["kgr_warning"]:
        print(f"warning: {result['kgr_warning']}")
    return 0


def demo_warning(model: dict | None) -> None:
    """The warning every command prints on stderr when a demo model made its input (README "Demo models")."""
    if model and model.get("demo"):
        made_by = " ".join(str(model[k]) for k in ("id", "version") if model.get(k))
        print(f"flrseg: warning: {DEMO_MARK} (made by {made_by or 'a demo model'})", file=sys.stderr)


def demo_warning_for_file(path: Path) -> None:
    """demo_warning for the model a segmentation file records (resect reads the file its own way)."""
    demo_warning(report_model(file_provenance(path)))


def _add_measure_options(parser: argparse.ArgumentParser) -> None:
    add_assessment_options(parser)
    parser.add_argument("--segment-names", metavar="Liver=...,CRLM=...,FLR=...",
                        help="segment names in a .seg.nrrd, when not Liver, CRLM and FLR")
    parser.add_argument("--json", type=Path, help="write every field as JSON")
    parser.add_argument("--csv", type=Path, help="write the table as CSV")
    parser.add_argument("--html", type=Path, help="write a one-page HTML report")
    parser.add_argument("--screenshot", type=Path, help="PNG or JPEG embedded in the HTML report")
    parser.add_argument("--model-report", type=Path,
                        help="the segment command's <case>_report.json, to name the model in the HTML report")


def _checked_inputs(args, inputs) -> tuple[AssessmentOptions, dict[str, str], dict | None]:
    """Options, segment names, the model for the HTML report and the export paths (apart from every input), all
    checked before anything is measured."""
    exports = _exports(args)
    for option, path in exports:
        check_export_file(path, option)
    if len({os.path.realpath(path) for _, path in exports}) < len(exports):
        raise InputError("--json, --csv and --html name the same file; give each its own")
    inputs = inputs + [(f"--{name.replace('_', '-')}", getattr(args, name)) for name in ("screenshot", "model_report")
                       if getattr(args, name)]
    check_apart(exports, inputs)
    if args.screenshot and not args.html:
        raise InputError("--screenshot goes into the HTML report; add --html PATH")
    if args.screenshot:
        embedded_image(args.screenshot)
    model = _model_from(args.model_report) if args.model_report else None
    return assessment_options_from(args), parse_segment_names(args.segment_names), model


def _model_from(report_path: Path) -> dict:
    try:
        model = json.loads(report_path.read_text()).get("model")
    except (OSError, ValueError, AttributeError):
        model = None
    if not isinstance(model, dict):
        raise InputError(f"--model-report {report_path} is not a report of `flrseg segment` (no 'model' field)")
    return model


def _report_pictures(segmentation: Path, provenance: dict | None) -> dict:
    """The HTML report's case lines and the segment command's preview beside the segmentation, if there is one."""
    study = ((provenance or {}).get("input") or {}).get("study")
    lines = study_text(study) or [f"File: {segmentation.name}"]
    if provenance and provenance.get("input", {}).get("name"):
        lines.append(f"CT: {provenance['input']['name']}; segmented {provenance.get('created', '')}")
    case = segmentation.name.split(".seg.nrrd")[0].removesuffix("_seg.nii.gz").removesuffix("_seg.nii")
    preview = segmentation.with_name(f"{case}_preview.png")
    note = " before the edits" if provenance and provenance.get("edited") else ""
    return {"case_lines": lines, "preview": preview if preview.is_file() else None, "preview_note": note}


def _exports(args) -> list[tuple[str, Path]]:
    return [(f"--{name}", getattr(args, name)) for name in ("json", "csv", "html") if getattr(args, name)]


def _export(args, result: dict, rows, title: str, model: dict | None, notes: list, headline=None,
            pictures: dict | None = None) -> None:
    """Every export written under a staged name, then all moved into place: all of them or none."""
    writers = {"json": lambda path: write_json(path, result),
               "csv": lambda path: write_csv(path, rows + warning_rows(result)),
               "html": lambda path: write_html(path, title, rows, model, args.screenshot, notes, headline, result,
                                               **(pictures or {}))}
    replace_together({getattr(args, name): write for name, write in writers.items() if getattr(args, name)})
