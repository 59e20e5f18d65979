"""The `flrseg prepare-dataset` command: a TCIA CRLM-CT-Seg download (or data laid out like it) -> nnU-Net v2 raw
datasets for the stages of a strategy."""

from __future__ import annotations

from pathlib import Path

from ..research.dataset_prepare import FIRST_DATASET_ID, SPLITS_FILE, prepare_dataset
from ..vocabulary.stages import STRATEGIES


def add_dataset_commands(sub) -> None:
    prep = sub.add_parser("prepare-dataset", help="TCIA CRLM-CT-Seg download -> nnU-Net v2 raw datasets per stage")
    prep.add_argument("source", type=Path, help="folder with one folder per patient: a DICOM CT series and a DICOM-SEG "
                                                "(read only, never written to)")
    prep.add_argument("output", type=Path, help="folder to write the datasets into (e.g. $nnUNet_raw)")
    prep.add_argument("--strategy", choices=list(STRATEGIES), default="cascade",
                      help="cascade: stages liver, CRLM, FLR; e2e: one region-based dataset (default: %(default)s)")
    prep.add_argument("--labels", type=Path, metavar="DIR",
                      help="refined labels replacing the DICOM-SEG: <patient folder name>.nii.gz, .nii, .nrrd "
                           "(label map 0-3: 1 liver, 2 CRLM, 3 FLR) or .seg.nrrd (segments Liver, CRLM, FLR)")
    prep.add_argument("--first-id", type=int, default=FIRST_DATASET_ID,
                      help="nnU-Net dataset id of the liver stage; CRLM, FLR and E2E take the next three "
                           "(default: %(default)s)")
    prep.set_defaults(func=cmd_prepare_dataset)


def cmd_prepare_dataset(args) -> int:
    report = prepare_dataset(args.source, args.output, args.strategy, args.labels, args.first_id)
    print(f"{len(report['cases'])} patients in {', '.join(report['datasets'].values())} under {args.output} "
          f"({len(report['converted'])} converted, {len(report['kept'])} kept, {len(report['skipped'])} skipped); "
          f"{report['folds']}-fold patient split in each dataset's {SPLITS_FILE}")
    for patient, reason in report["skipped"].items():
        print(f"skipped {patient}: {reason}")
    return 0
