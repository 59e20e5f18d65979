"""The `flrseg train`, `flrseg export` and `flrseg evaluate` commands: rebuild and benchmark models.

train: nnunetv2's planning, preprocessing and training of one stage's dataset, each command printed.
export: trained stages -> a model package zip that `flrseg segment --model` and the Slicer module install.
evaluate: Dice, HD95 and FLR % error of one or two prediction folders against reference label maps.
benchmark-grid: the seed paper's table, networks x strategies, from trained packages and reference label maps.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import InputError
from ..imaging.atomic_files import replace_together
from ..imaging.output_paths import check_apart
from ..research.evaluation import evaluate
from ..research.evaluation_report import markdown_table, write_csv
from ..research.model_export import DEFAULT_INTENDED_USE, PackageInfo, export_package
from ..research.training import CONFIGURATION, DEFAULT_FOLDS, DEFAULT_TRAINER, TrainRequest, train
from ..vocabulary.stages import STAGES


def add_research_commands(sub) -> None:
    tr = sub.add_parser("train", help="plan, preprocess and train one stage with nnunetv2 (commands printed)")
    tr.add_argument("dataset", help="nnU-Net raw dataset folder (DatasetXXX_Name), or its id under $nnUNet_raw")
    tr.add_argument("--stage", required=True, choices=list(STAGES), help="the stage the dataset was written for")
    tr.add_argument("--trainer", default=DEFAULT_TRAINER,
                    help="nnU-Net trainer class, e.g. nnUNetTrainer or an STU-Net trainer (default: %(default)s)")
    tr.add_argument("--configuration", default=CONFIGURATION, help="nnU-Net configuration (default: %(default)s)")
    tr.add_argument("--fold", nargs="+", default=list(DEFAULT_FOLDS),
                    help="folds to train, 0-4 or all (default: the five cross-validation folds)")
    tr.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                    help="where to train: auto = the GPU when there is one")
    tr.add_argument("--processes", type=int, default=TrainRequest.processes,
                    help="preprocessing processes (default: %(default)s)")
    tr.add_argument("--dry-run", action="store_true", help="check the dataset and print the commands, run nothing")
    tr.set_defaults(func=cmd_train)

    ex = sub.add_parser("export", help="trained nnU-Net stages -> a model package zip with manifest and sha256")
    ex.add_argument("stages", nargs="+", type=Path,
                    help="trained model folders (Trainer__Plans__configuration) or nnUNetv2_export_model_to_zip zips")
    ex.add_argument("-o", "--output", type=Path, required=True, help="the package zip to write")
    ex.add_argument("--id", required=True, help="model id (letters, digits, '.', '_', '-')")
    ex.add_argument("--version", required=True, help="the package's version, e.g. 1.0.0")
    ex.add_argument("--title", help="display title (default: the id)")
    ex.add_argument("--license", default="not stated", help="license of the weights")
    ex.add_argument("--citation", default="", help="how to cite the model")
    ex.add_argument("--intended-use", default=DEFAULT_INTENDED_USE, help="the intended use the manifest states")
    ex.add_argument("--demo", action="store_true", help="mark as a demo model (reports say: not for clinical use)")
    ex.set_defaults(func=cmd_export)

    ev = sub.add_parser("evaluate", help="Dice, HD95 and FLR %% error of predicted label maps against references")
    ev.add_argument("pred", type=Path, help="folder of predicted label maps (<case>_seg.nii.gz or <case>.nii.gz)")
    ev.add_argument("ref", type=Path, help="folder of reference label maps (0-3, e.g. an E2E dataset's labelsTr)")
    ev.add_argument("--pred2", type=Path, help="a second prediction folder, shown side by side (e.g. E2E)")
    ev.add_argument("--name", help="column title of PRED (default: its folder name)")
    ev.add_argument("--name2", help="column title of PRED2 (default: its folder name)")
    ev.add_argument("--csv", type=Path, help="write the per-case scores as CSV")
    ev.add_argument("--markdown", type=Path, help="write the summary table as markdown")
    ev.add_argument("--cluster", metavar="local:N|tcp://HOST:PORT", help="score the cases on a Dask cluster")
    ev.set_defaults(func=cmd_evaluate)

    grid = sub.add_parser("benchmark-grid", help="the paper's table: nnU-Net / SwinUNETR / STU-Net x cascade / E2E")
    grid.add_argument("cts", type=Path, help="folder of CT images, each named after its case (<case>.nrrd, ...)")
    grid.add_argument("ref", type=Path, help="folder of reference label maps (0-3), one per case")
    grid.add_argument("--model", action="append", default=[], metavar="NETWORK=PACKAGE",
                      help="a trained package (path or registry id) for a network: nnunet, swinunetr or stunet; "
                           "repeat per network; a row without one is printed 'not trained'")
    grid.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where the networks run")
    grid.add_argument("--markdown", type=Path, help="also write the table as markdown")
    grid.set_defaults(func=cmd_benchmark_grid)


def cmd_train(args) -> int:
    folds = tuple(dict.fromkeys(args.fold))
    train(TrainRequest(args.dataset, args.stage, args.trainer, args.configuration, folds, args.device,
                       args.processes, args.dry_run))
    return 0


def cmd_export(args) -> int:
    info = PackageInfo(args.id, args.version, args.title or args.id, args.license, args.citation,
                       args.intended_use, args.demo)
    manifest = export_package(args.stages, args.output, info)
    for name, entry in manifest["stages"].items():
        folds = ", ".join(str(f) for f in entry["folds"])
        print(f"{name:6} {entry['trainer']}__{entry['plans']}__{entry['configuration']}, folds {folds}")
    print(f"wrote {args.output} (model {manifest['id']} {manifest['version']}, strategies "
          f"{', '.join(manifest['strategies'])}); use it with: flrseg segment CT -o OUT --model {args.output}")
    return 0


def cmd_evaluate(args) -> int:
    sets = {args.name or args.pred.name: args.pred}
    if args.pred2:
        sets[args.name2 or args.pred2.name] = args.pred2
    if len(sets) < (2 if args.pred2 else 1):
        raise InputError("PRED and PRED2 have the same name; tell them apart with --name and --name2")
    for path in (args.csv, args.markdown):
        if path is not None:
            _check_writable(path)
    folders = [("the reference folder", args.ref), ("the prediction folder", args.pred)]
    check_apart([(f"--{name}", getattr(args, name)) for name in ("csv", "markdown") if getattr(args, name)],
                folders + ([("the prediction folder", args.pred2)] if args.pred2 else []))
    if args.cluster:
        from ..cluster.connection import parse_cluster  # Dask is imported only for a cluster run
        from ..cluster.evaluation import evaluate_on_cluster

        scores, notes = evaluate_on_cluster(parse_cluster(args.cluster), args.ref, sets,
                                            notify=lambda line: print(line, file=sys.stderr), verbose=args.verbose)
    else:
        scores, notes = evaluate(args.ref, sets)
    table = markdown_table(scores)
    writers = {args.csv: lambda path: write_csv(path, scores), args.markdown: lambda path: path.write_text(table)}
    replace_together({path: write for path, write in writers.items() if path is not None})
    print(table, end="")
    for note in notes:
        print(f"note: {note}")
    return 0


def cmd_benchmark_grid(args) -> int:
    from ..research.benchmark_grid import grid_table, parse_models, run_grid

    models = parse_models(args.model)
    if not models:
        raise InputError("benchmark-grid needs at least one --model NETWORK=PACKAGE (e.g. nnunet=demo-phantom)")
    if args.markdown is not None:
        _check_writable(args.markdown)
    table = grid_table(run_grid(args.cts, args.ref, models, args.device,
                                notify=lambda line: print(line, file=sys.stderr)))
    if args.markdown:
        args.markdown.write_text(table)
    print(table, end="")
    return 0


def _check_writable(path: Path) -> None:
    """Refuse an output that can't be written before hours of scoring, not after."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir() or not folder.is_dir() or not os.access(folder, os.W_OK):
        raise InputError(f"can't write {path}: give a file in an existing folder you can write to")
