"""A dataset to annotate: its layout, its cases with their label files and status, and reading a case's label.

Two layouts:
- nnU-Net raw: `dataset.json` (`labels`, `file_ending`), `imagesTr/<case>_0000<ending>` (the CT; other channels
  are ignored) and `labelsTr/<case><ending>`, with the label values of dataset.json;
- a folder of CT files (NIfTI, NRRD, MetaImage) with optional labels beside them: `<case>_seg<ext>` label maps
  with the engine's values (1 liver outside the FLR, 2 CRLM, 3 FLR), or those of a `dataset.json` in the folder,
  or `<case>.seg.nrrd` Slicer segmentations. A new label takes the format most of the folder's labels have
  (`<case>_seg.nii.gz` when there are none).
A label is only ever read on its image's exact grid: one on another grid is reported, never resampled.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..imaging.ct_input import IMAGE_IOS, check_input
from ..imaging.image_grid import ImageGrid
from .label_files import ENGINE_LABELS, LabelMapFile, LabelMapping, SegNrrdFile
from .store import STATUSES, AnnotationStore

NNUNET, FOLDER = "nnU-Net raw", "folder of CT files"
ANNOTATION_FOLDER = "annotation"  # sidecars and versions, in the dataset's root
SEG_NRRD, LABEL_SUFFIX, CHANNEL_0 = ".seg.nrrd", "_seg", "_0000"


@dataclass(frozen=True)
class Case:
    id: str
    image: Path  # the CT
    label: Path  # where its label is, or will be written
    label_format: LabelMapFile | SegNrrdFile

    @property
    def has_label(self) -> bool:
        return self.label.is_file()


class AnnotationDataset:
    def __init__(self, root: Path, layout: str, cases: list[Case]):
        self.root, self.layout = root, layout
        self.cases = {case.id: case for case in sorted(cases, key=lambda c: c.id)}
        self.store = AnnotationStore(root / ANNOTATION_FOLDER)
        self.versions_folder = root / ANNOTATION_FOLDER / "versions"

    def case(self, case_id: str) -> Case:
        if case_id not in self.cases:
            raise InputError(f"{self.root} has no case '{case_id}'")
        return self.cases[case_id]

    def grid(self, case: Case) -> ImageGrid:
        """The CT's grid from its header, after checking the CT is one readable 3D greyscale volume."""
        check_input(case.image)
        return ImageGrid.of_file(case.image)

    def read_label(self, case: Case, grid: ImageGrid | None = None) -> dict[str, np.ndarray] | None:
        """The case's segments by key (bool arrays (z, y, x) on the CT grid), or None when it has no label."""
        if not case.has_label:
            return None
        return case.label_format.read(case.label, case.image, grid or self.grid(case))

    def status(self, case: Case) -> str:
        return self.store.status(case.id, case.has_label)

    def worklist(self, status: str | None = None) -> list[tuple[Case, str]]:
        """The cases in order with their status; only those of `status` when given."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {STATUSES}")
        listed = [(case, self.status(case)) for case in self.cases.values()]
        return [(case, found) for case, found in listed if status in (None, found)]

    def neighbour(self, case_id: str | None, step: int, status: str | None = None) -> str | None:
        """The next (step 1) or previous (-1) case of the filtered list, from `case_id` (None: from the start);
        None past either end. A current case outside the filter steps from where it would sit."""
        ids = [case.id for case, _ in self.worklist(status)]
        if case_id is None:
            return (ids[0] if step > 0 else ids[-1]) if ids else None
        following = [i for i in ids if (i > case_id if step > 0 else i < case_id)]
        if not following:
            return None
        return following[0] if step > 0 else following[-1]

    def summary(self) -> dict:
        """Counts per status and time spent, over the whole dataset."""
        statuses = Counter(status for _, status in self.worklist())
        records = [self.store.record(case_id) for case_id in self.cases]
        return {"cases": len(self.cases), "by_status": {s: statuses.get(s, 0) for s in STATUSES},
                "seconds_spent": round(sum(r["seconds_spent"] for r in records), 1),
                "saves": sum(len(r["saves"]) for r in records)}


def open_dataset(folder) -> AnnotationDataset:
    """The dataset in `folder`: nnU-Net raw when it has dataset.json and imagesTr, else a folder of CT files."""
    root = Path(folder).resolve()
    if not root.is_dir():
        raise InputError(f"{folder}: not a folder; give an nnU-Net raw dataset folder or a folder of CT files")
    if (root / "imagesTr").is_dir() and (root / "dataset.json").is_file():
        return AnnotationDataset(root, NNUNET, _nnunet_cases(root))
    cases = _folder_cases(root)
    if not cases:
        raise InputError(f"{folder}: no CT files (NIfTI, NRRD, MetaImage) and no nnU-Net layout (dataset.json, "
                         "imagesTr); give a dataset folder")
    return AnnotationDataset(root, FOLDER, cases)


def _dataset_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: can't be read as JSON ({error}); fix the file") from None


def _nnunet_cases(root: Path) -> list[Case]:
    description = _dataset_json(root / "dataset.json")
    ending = description.get("file_ending", ".nii.gz")
    if "labels" not in description:
        raise InputError(f"{root / 'dataset.json'}: no 'labels'; nnU-Net datasets name their label values there")
    label_format = LabelMapFile(LabelMapping.from_labels(description["labels"], str(root / "dataset.json")))
    suffix = CHANNEL_0 + ending
    return [Case(path.name[:-len(suffix)], path, root / "labelsTr" / (path.name[:-len(suffix)] + ending), label_format)
            for path in (root / "imagesTr").iterdir()
            if path.is_file() and path.name.endswith(suffix) and not path.name.startswith(".")]


def _image_suffix(name: str) -> str | None:
    return next((suffix for suffix in IMAGE_IOS if name.lower().endswith(suffix)), None)


def _folder_cases(root: Path) -> list[Case]:
    labels = root / "dataset.json"
    mapping = LabelMapping.from_labels(_dataset_json(labels)["labels"] if labels.is_file() else ENGINE_LABELS,
                                       str(labels) if labels.is_file() else "the engine's label values")
    label_map, seg_nrrd = LabelMapFile(mapping), SegNrrdFile()
    images, labelled = {}, {}  # case -> CT; case -> [(label file, its suffix)]
    for path in sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith(".")):
        suffix = _image_suffix(path.name)
        stem = path.name[:-len(suffix)] if suffix else ""
        if path.name.lower().endswith(SEG_NRRD):
            labelled.setdefault(path.name[:-len(SEG_NRRD)], []).append((path, SEG_NRRD))
        elif stem.endswith(LABEL_SUFFIX):
            labelled.setdefault(stem[:-len(LABEL_SUFFIX)], []).append((path, suffix))
        elif suffix:
            images[stem] = path
    labelled = {case_id: found for case_id, found in labelled.items() if case_id in images}
    for case_id, found in labelled.items():
        if len(found) > 1:
            raise InputError(f"case '{case_id}' has {len(found)} label files ({', '.join(p.name for p, _ in found)}); "
                             "keep one")
    usual = Counter(suffix for found in labelled.values() for _, suffix in found).most_common(1)
    default = usual[0][0] if usual else ".nii.gz"
    cases = []
    for case_id, image in images.items():
        path, suffix = labelled.get(case_id, [(None, default)])[0]
        path = path or root / (case_id + (SEG_NRRD if suffix == SEG_NRRD else LABEL_SUFFIX + suffix))
        cases.append(Case(case_id, image, path, seg_nrrd if suffix == SEG_NRRD else label_map))
    return cases
