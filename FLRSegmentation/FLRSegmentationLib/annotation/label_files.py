"""How a dataset stores its segments, and the two kinds of label file: a label map image or a Slicer `.seg.nrrd`.

A label map's values mean what the dataset documents (nnU-Net's dataset.json `labels`, or our engine's values for a
folder of CT files). A label is either one value ("liver": 1) or, for nnU-Net region-based datasets, a list of the
values inside it ("liver": [1, 2, 3]). Label names are matched to our roles (Liver, CRLM, FLR) ignoring case and
separators ("Liver_Remnant" is the FLR, "tumor" the CRLM); other labels (e.g. vessels) stay segments of their own
and are written back with their own values. With one value per label, CRLM and FLR lie inside the Liver, as in our
engine's label map (Liver = TLV).

Writing encodes each voxel's set of segments as the one value holding exactly that set: a combination the dataset
can't store (CRLM overlapping FLR, CRLM outside the Liver) is reported, never changed silently, so a saved label
reads back exactly as it was edited. Arrays are numpy in SimpleITK order (z, y, x).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import SimpleITK as sitk

from ..errors import InputError
from ..imaging.image_grid import ImageGrid
from ..imaging.seg_nrrd import read_seg_nrrd, write_seg_nrrd
from ..vocabulary.labels import LABEL_CRLM, LABEL_FLR, LABEL_LIVER
from ..vocabulary.segments import SEGMENTS_BY_KEY
from ..volumetry.segmentation_volumes import DEFAULT_SEGMENT_NAMES, pick_segments

ENGINE_LABELS = {"background": 0, "liver": LABEL_LIVER, "crlm": LABEL_CRLM, "flr": LABEL_FLR}
# Normalised label names (lower case, letters and digits only) that mean one of our roles.
ROLE_NAMES = {
    "liver": {"liver"},
    "crlm": {"crlm", "tumor", "tumour", "tumors", "tumours", "metastasis", "metastases", "lesion", "lesions"},
    "flr": {"flr", "futureliverremnant", "liverremnant", "remnant"},
}
MAX_SEGMENTS = 16  # each voxel's set of segments is a bit mask, looked up in a table of 2^16 entries


@dataclass(frozen=True)
class LabelSegment:
    key: str  # our role (liver, crlm, flr), else the dataset's label name
    name: str  # the segment's name in Slicer
    values: frozenset = frozenset()  # label values inside the segment (label maps only)


def _role(name: str) -> str | None:
    normalised = re.sub(r"[^a-z0-9]", "", name.lower())
    return next((role for role, names in ROLE_NAMES.items() if normalised in names), None)


class LabelMapping:
    """Segments <-> label values of one dataset."""

    def __init__(self, segments: tuple[LabelSegment, ...], source: str):
        self.segments = segments
        if not segments:
            raise InputError(f"{source}: no labels besides the background; name the dataset's labels, e.g. "
                             f"{ENGINE_LABELS}")
        if len(segments) > MAX_SEGMENTS:
            raise InputError(f"{source}: {len(segments)} labels; the annotator handles at most {MAX_SEGMENTS}")
        self._value_of_set = {}
        for value in sorted(set().union(*(s.values for s in segments))):
            bits = self._bits(value)
            if bits in self._value_of_set:
                raise InputError(f"{source}: label values {self._value_of_set[bits]} and {value} cover the same "
                                 f"segments, so a saved label could not tell them apart; give each label its own value")
            self._value_of_set[bits] = value

    @classmethod
    def from_labels(cls, labels: dict, source: str) -> "LabelMapping":
        """The mapping of a dataset.json `labels` entry (name -> value or list of values); 0 is background."""
        if not isinstance(labels, dict) or not labels:
            raise InputError(f"{source}: 'labels' must map label names to values, e.g. {ENGINE_LABELS}")
        segments, region_based = [], False
        for name, value in labels.items():
            values = value if isinstance(value, list) else [value]
            region_based |= isinstance(value, list)
            if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
                raise InputError(f"{source}: label '{name}' has the value {value!r}; give a whole number >= 0 "
                                 "or a list of them")
            if set(values) == {0}:
                continue  # background
            role = _role(name)
            if role and any(s.key == role for s in segments):
                raise InputError(f"{source}: two labels mean {SEGMENTS_BY_KEY[role].name} (the second is '{name}'); "
                                 "merge them or rename one")
            segments.append(LabelSegment(role or name, SEGMENTS_BY_KEY[role].name if role else name,
                                         frozenset(values) - {0}))
        by_key = {s.key: s for s in segments}
        if not region_based and "liver" in by_key:  # one value per label: the liver holds CRLM and FLR
            inside = by_key["liver"].values.union(*(by_key[k].values for k in ("crlm", "flr") if k in by_key))
            segments = [LabelSegment(s.key, s.name, inside) if s.key == "liver" else s for s in segments]
        return cls(tuple(segments), source)

    def describe(self) -> str:
        return "; ".join(f"{s.name} = {', '.join(str(v) for v in sorted(s.values))}" for s in self.segments)

    def decode(self, array: np.ndarray, source) -> dict[str, np.ndarray]:
        """Masks by segment key; a value the dataset does not define is an error naming it."""
        known = np.isin(array, [0, *self._value_of_set.values()])
        if not known.all():
            unknown = np.unique(array[~known])
            raise InputError(f"{source} holds label values {unknown.tolist()[:10]} that the dataset does not define "
                             f"({self.describe()}); fix the label file or the dataset's labels")
        return {s.key: np.isin(array, sorted(s.values)) for s in self.segments}

    def encode(self, masks: dict[str, np.ndarray]) -> np.ndarray:
        """The label map of the masks (missing keys are empty); an impossible combination is an InputError."""
        shape = next(iter(masks.values())).shape
        bits = np.zeros(shape, np.uint32)
        for index, segment in enumerate(self.segments):
            if segment.key in masks:
                bits |= masks[segment.key].astype(np.uint32) << index
        largest = max(self._value_of_set.values())
        table = np.zeros(1 << len(self.segments), np.min_scalar_type(largest))
        storable = np.zeros(table.shape, bool)
        storable[0] = True
        for segment_bits, value in self._value_of_set.items():
            table[segment_bits], storable[segment_bits] = value, True
        refused = ~storable[bits]
        if refused.any():
            sets, counts = np.unique(bits[refused], return_counts=True)
            found = "; ".join(f"{count} voxels in {self._names(int(b))} only" for b, count in zip(sets, counts))
            raise InputError(f"{found}: the dataset's labels ({self.describe()}) can't store that; correct these "
                             "voxels in the Segment Editor (e.g. keep CRLM and FLR apart and inside the Liver)")
        return table[bits]

    def _bits(self, value: int) -> int:
        return sum(1 << i for i, s in enumerate(self.segments) if value in s.values)

    def _names(self, bits: int) -> str:
        return " + ".join(s.name for i, s in enumerate(self.segments) if bits >> i & 1)


def grid_error(label: Path, image: Path, differences: list[str]) -> InputError:
    return InputError(f"{label}: its grid differs from its image {image.name} ({'; '.join(differences)}); labels "
                      "are never resampled: export the label again on the image's grid")


class LabelMapFile:
    """A label map image (NIfTI, NRRD, MetaImage) whose values mean segments as the mapping says."""

    def __init__(self, mapping: LabelMapping):
        self.mapping = mapping
        self.segments = mapping.segments

    def read(self, path: Path, image: Path, grid: ImageGrid) -> dict[str, np.ndarray]:
        differences = ImageGrid.of_file(path).differences(grid)
        if differences:
            raise grid_error(path, image, differences)
        try:
            label = sitk.ReadImage(str(path))
        except RuntimeError:
            raise InputError(f"{path}: the voxel data can't be read (truncated or damaged); restore it from the "
                             "versions folder or export it again") from None
        array = sitk.GetArrayViewFromImage(label)
        if label.GetNumberOfComponentsPerPixel() != 1 or not np.issubdtype(array.dtype, np.integer):
            raise InputError(f"{path}: holds {label.GetPixelIDTypeAsString()} voxels; a label map holds one whole "
                             "number per voxel")
        return self.mapping.decode(array, path)

    def prepare(self, masks: dict, grid: ImageGrid, like: Path | None) -> Callable[[Path], None]:
        """Encode now (refusing what can't be stored); the returned function writes the file.

        The pixel type is the previous file's (`like`) when it holds every value, so the dataset stays as it was.
        """
        array = self.mapping.encode(masks)
        if like is not None:
            dtype = _pixel_dtype(like)
            if np.issubdtype(dtype, np.integer) and np.can_cast(np.min_scalar_type(int(array.max())), dtype):
                array = array.astype(dtype)
        image = grid.image(array)
        return lambda path: sitk.WriteImage(image, str(path), useCompression=True)


class SegNrrdFile:
    """A Slicer segmentation file holding our three segments, found by name (any letter case: users retype them)."""

    segments = tuple(LabelSegment(key, name) for key, name in DEFAULT_SEGMENT_NAMES.items())

    def read(self, path: Path, image: Path, grid: ImageGrid) -> dict[str, np.ndarray]:
        masks_by_name, reference = read_seg_nrrd(path)
        differences = ImageGrid.of_image(reference).differences(grid)
        if differences:
            raise grid_error(path, image, differences)
        names = pick_segments({n: n for n in masks_by_name}, DEFAULT_SEGMENT_NAMES, f"segmentation {path}")
        extra = sorted(set(masks_by_name) - set(names.values()))
        if extra:
            raise InputError(f"segmentation {path} has segments {extra} besides Liver, CRLM and FLR, which saving "
                             "would drop; move them to a file of their own")
        return {key: masks_by_name[name] for key, name in names.items()}

    def prepare(self, masks: dict, grid: ImageGrid, like: Path | None) -> Callable[[Path], None]:
        reference = grid.image(np.zeros(grid.shape, np.uint8))
        return lambda path: write_seg_nrrd(path, masks, reference)


def _pixel_dtype(path: Path) -> np.dtype:
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.ReadImageInformation()
    return sitk.GetArrayViewFromImage(sitk.Image([1, 1, 1], reader.GetPixelID())).dtype
