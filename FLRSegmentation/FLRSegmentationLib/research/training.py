"""`flrseg train`: nnunetv2's own planning, preprocessing and training of one stage, every command printed.

A thin wrapper. It finds the raw dataset (a `DatasetXXX_Name` folder, or an id under $nnUNet_raw), checks that it
is the stage asked for (the labels and channels the engine's stage code reads and feeds, so the trained model
will load in a package), checks that nnunetv2 can find the trainer, then runs `nnUNetv2_plan_and_preprocess` and
`nnUNetv2_train` for each fold. The trainer is a free name: nnU-Net's own, ours in `models/nnunet_trainers/` or any on
the user's $nnUNet_extTrainer.

nnU-Net folders: $nnUNet_preprocessed and $nnUNet_results when set, else `nnUNet_preprocessed` and
`nnUNet_results` beside the folder that holds the raw dataset. nnU-Net's planning itself copies a patient-level
`splits_final.json` of the raw dataset (prepare-dataset writes one) to where training reads it; the folds asked
for are checked against it. Reruns resume: planning is skipped once every case is preprocessed, a fold with
checkpoint_final.pth is skipped, an interrupted fold continues from its latest checkpoint (`--c`).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..vocabulary.stages import STAGES
from .nnunet_commands import exports, nnunet_env, nnunet_tool, run

DATASET_NAME = re.compile(r"^Dataset(\d{3})_\S+$")
CONFIGURATION = "3d_fullres"
PLANS = "nnUNetPlans"
DEFAULT_TRAINER = "nnUNetTrainer"
DEFAULT_FOLDS = ("0", "1", "2", "3", "4")
SPLITS = "splits_final.json"
CHECKPOINT_FINAL = "checkpoint_final.pth"
CHECKPOINT_LATEST = "checkpoint_latest.pth"


@dataclass(frozen=True)
class TrainRequest:
    dataset: str  # raw dataset folder, or its id / DatasetXXX_Name under $nnUNet_raw
    stage: str
    trainer: str = DEFAULT_TRAINER
    configuration: str = CONFIGURATION
    folds: tuple[str, ...] = DEFAULT_FOLDS
    device: str = "auto"
    processes: int = min(8, os.cpu_count() or 1)
    dry_run: bool = False


@dataclass(frozen=True)
class DatasetFolders:
    raw: Path  # the raw dataset folder, DatasetXXX_Name
    preprocessed_root: Path
    results_root: Path

    @property
    def name(self) -> str:
        return self.raw.name

    @property
    def id(self) -> int:
        return int(DATASET_NAME.match(self.name).group(1))

    @property
    def preprocessed(self) -> Path:
        return self.preprocessed_root / self.name

    def model_folder(self, trainer: str, configuration: str) -> Path:
        return self.results_root / self.name / f"{trainer}__{PLANS}__{configuration}"


def locate_dataset(ref: str) -> DatasetFolders:
    """The raw dataset folder from a path or an id, and where nnU-Net keeps its preprocessed data and results."""
    folder = Path(ref)
    if not folder.is_dir():
        raw_root = os.environ.get("nnUNet_raw")
        if not raw_root:
            raise InputError(f"dataset '{ref}' is not a folder; give the DatasetXXX_Name folder, or set nnUNet_raw "
                             f"to use an id")
        if ref.isdigit():
            found = sorted(p for p in Path(raw_root).glob(f"Dataset{int(ref):03d}_*") if p.is_dir())
        else:
            found = [Path(raw_root) / ref] if (Path(raw_root) / ref).is_dir() else []
        if len(found) != 1:
            raise InputError(f"dataset '{ref}': found {len(found)} matching folders in nnUNet_raw={raw_root}; "
                             f"give the dataset folder itself")
        folder = found[0]
    folder = folder.resolve()
    if not DATASET_NAME.match(folder.name):
        raise InputError(f"{folder}: nnU-Net needs a dataset folder named DatasetXXX_Name (three digits); "
                         f"rename it or write it with flrseg prepare-dataset")
    base = folder.parent.parent
    return DatasetFolders(folder, Path(os.environ.get("nnUNet_preprocessed", base / "nnUNet_preprocessed")),
                          Path(os.environ.get("nnUNet_results", base / "nnUNet_results")))


def check_stage_dataset(folder: Path, stage: str) -> int:
    """Refuse a dataset that is not `stage`'s: its model would not load in a package. Returns its case count."""
    try:
        dataset = json.loads((folder / "dataset.json").read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{folder}: no readable dataset.json ({exc}); is this an nnU-Net raw dataset?") from None
    spec = STAGES[stage]
    tagged = dataset.get("flrseg_stage")
    if tagged and tagged != stage:
        raise InputError(f"{folder.name} holds the '{tagged}' stage's data, not '{stage}'; give --stage {tagged} "
                         f"or the {stage} dataset")
    if dataset.get("channel_names") != spec.channel_names() or dataset.get("labels") != spec.labels:
        raise InputError(f"{folder.name}: channels {dataset.get('channel_names')} and labels "
                         f"{dataset.get('labels')} are not the '{stage}' stage's ({spec.channel_names()}, "
                         f"{spec.labels}); write the dataset with flrseg prepare-dataset")
    cases = sorted((folder / "labelsTr").glob(f"*{dataset.get('file_ending', '.nii.gz')}"))
    if not cases:
        raise InputError(f"{folder.name}: labelsTr holds no case; the dataset is empty")
    return len(cases)


def check_folds(folds: tuple[str, ...], raw: Path) -> None:
    splits = json.loads((raw / SPLITS).read_text()) if (raw / SPLITS).is_file() else None
    count = len(splits) if splits is not None else len(DEFAULT_FOLDS)
    for fold in folds:
        if fold != "all" and not (fold.isdigit() and int(fold) < count):
            raise InputError(f"--fold {fold}: give 'all' or a fold from 0 to {count - 1} "
                             f"({'the folds of ' + SPLITS if splits is not None else 'five-fold cross-validation'})")


def check_trainer(trainer: str, env: dict[str, str]) -> None:
    """nnunetv2's own lookup, before hours of preprocessing: its own trainers, then each nnUNet_extTrainer folder."""
    import nnunetv2
    from nnunetv2.utilities.find_class_by_name import recursive_find_python_class

    package = nnunetv2.__path__[0]
    with warnings.catch_warnings():  # importing every trainer module raises torch's deprecation warnings
        warnings.simplefilter("ignore")
        if recursive_find_python_class(os.path.join(package, "training", "nnUNetTrainer"), trainer,
                                       "nnunetv2.training.nnUNetTrainer", package):
            return
        for folder in env["nnUNet_extTrainer"].split(os.pathsep):
            if os.path.isdir(folder) and recursive_find_python_class(folder, trainer, None, base_folder=folder,
                                                                     cleanup_imports_from_base_folder=True):
                return
    raise InputError(f"--trainer {trainer}: nnunetv2 has no trainer of that name (nor nnUNet_extTrainer="
                     f"{env['nnUNet_extTrainer']}); check the spelling, e.g. nnUNetTrainer")


def is_preprocessed(folders: DatasetFolders, configuration: str, n_cases: int) -> bool:
    plans_file = folders.preprocessed / f"{PLANS}.json"
    if not plans_file.is_file():
        return False
    config = json.loads(plans_file.read_text()).get("configurations", {}).get(configuration)
    if config is None:
        return False
    data = folders.preprocessed / config.get("data_identifier", f"{PLANS}_{configuration}")
    return data.is_dir() and len(list(data.glob("*.pkl"))) == n_cases


def train(request: TrainRequest) -> Path:
    """Plan, preprocess and train the requested folds; returns the trained model folder."""
    from ..inference.segment_run import resolve_device

    folders = locate_dataset(request.dataset)
    n_cases = check_stage_dataset(folders.raw, request.stage)
    check_folds(request.folds, folders.raw)
    if request.processes < 1:
        raise InputError(f"--processes {request.processes}: give at least 1")
    device = resolve_device(request.device).type
    env = nnunet_env(folders.raw.parent, folders.preprocessed_root, folders.results_root)
    check_trainer(request.trainer, env)
    print("# nnU-Net settings, to rerun these commands by hand:\n" + exports(env), flush=True)

    if is_preprocessed(folders, request.configuration, n_cases):
        print(f"# {folders.name} is already planned and preprocessed for {request.configuration}: skipped")
    else:
        run([nnunet_tool("nnUNetv2_plan_and_preprocess"), "-d", str(folders.id), "-c", request.configuration,
             "-np", str(request.processes), "-npfp", str(request.processes), "--verify_dataset_integrity"],
            env, request.dry_run)

    model = folders.model_folder(request.trainer, request.configuration)
    for fold in request.folds:
        fold_dir = model / f"fold_{fold}"
        if (fold_dir / CHECKPOINT_FINAL).is_file():
            print(f"# fold {fold} is trained already ({fold_dir / CHECKPOINT_FINAL}): skipped")
            continue
        resume = ["--c"] if (fold_dir / CHECKPOINT_LATEST).is_file() else []
        run([nnunet_tool("nnUNetv2_train"), folders.name, request.configuration, fold, "-tr", request.trainer,
             "-p", PLANS, "-device", device, *resume], env, request.dry_run)
    print(f"# trained model folder: {model}")
    return model
