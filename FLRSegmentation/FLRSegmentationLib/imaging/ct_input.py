"""Read the input CT: a NIfTI, NRRD or MetaImage file, or a folder holding one DICOM CT series.

The image keeps its exact geometry (size, spacing, origin, direction) and comes back as float32 HU, so every
stage sees the same grid and the same intensities whatever the input format. Each unusable input raises an
InputError with one line naming the file, the fault and the fix: ITK's multi-line messages never reach the user.
Nothing is ever written next to the input.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import SimpleITK as sitk

from ..errors import InputError
from .ct_checks import check_ct_values
from .dicom_series import ordered_series_files
from .dicom_study import series_case_name, study_fields
from .header_check import check_geometry, check_nifti_pixdim
from .voxels import read_voxels

IMAGE_IOS = {".nii.gz": "NiftiImageIO", ".nii": "NiftiImageIO", ".nrrd": "NrrdImageIO", ".nhdr": "NrrdImageIO",
             ".mha": "MetaImageIO", ".mhd": "MetaImageIO"}
FORMAT_NAMES = {"NiftiImageIO": "NIfTI", "NrrdImageIO": "NRRD", "MetaImageIO": "MetaImage"}
SUPPORTED = ("a NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr) or MetaImage (.mha, .mhd) file, "
             "or the folder of one DICOM CT series")
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class _Series:
    """One DICOM series of a folder, described from the header of its first file."""

    uid: str
    files: tuple[str, ...]
    modality: str
    description: str
    size: tuple[int, ...]
    components: int

    def __str__(self) -> str:
        count = f"{len(self.files)} file" + ("s" if len(self.files) > 1 else "")
        description = f' "{self.description}"' if self.description else ""
        return f"{self.modality or 'unknown'} series {self.uid}{description} ({count})"


def case_name(path: Path) -> str:
    """The name outputs are given: the file name without its image extension, or for a DICOM folder the series'
    name (imaging/dicom_study.py: PatientID and SeriesNumber, or SeriesDescription; the folder's name without)."""
    name = Path(os.path.abspath(path)).name
    if Path(path).is_dir():
        study = _try_study(Path(path))
        return series_case_name(study, name) if study else name
    return name[:-len(_suffix(name))] if _suffix(name) else Path(name).stem


def dicom_study(path: Path) -> dict[str, str] | None:
    """The patient, study and series fields of a DICOM folder's CT series; None for an image file."""
    return study_fields(_ct_series(Path(path)).files[0]) if Path(path).is_dir() else None


def _try_study(folder: Path) -> dict[str, str] | None:
    """dicom_study of a folder that may not hold a series (check_input reports what is wrong with it)."""
    try:
        return dicom_study(folder)
    except (InputError, OSError, ValueError):
        return None


def expand_inputs(paths: list[Path]) -> list[Path]:
    """Each input as it is, except a folder of image files (NIfTI, NRRD, MetaImage; not `.seg.nrrd`), which gives
    each of its files as a case, in name order; a folder without them stays one input, a DICOM series."""
    expanded = []
    for path in map(Path, paths):
        images = sorted(p for p in path.iterdir() if p.is_file() and _suffix(p.name)
                        and not p.name.lower().endswith(".seg.nrrd")) if path.is_dir() else []
        expanded += images or [path]
    return expanded


def check_input(path: Path) -> None:
    """Validate an input from its headers only, so that all inputs can be checked before any is processed.

    A file cut short after its header passes here and is caught by read_ct. The geometry is checked here too
    (spacing, direction; a DICOM series' slice positions), so a batch refuses a bad input before its first case.
    """
    _open(Path(path))


def read_ct(path: Path, keep_integers: bool = False) -> sitk.Image:
    """The CT as a 3D float32 image in HU (DICOM rescale applied), its geometry exactly as stored; an image with
    NaN or infinite voxels or no air is refused (ct_checks.py). With keep_integers, a CT stored in integers of up to
    16 bits stays in them (every value is exact in float32, so the stages see the same numbers, at half the memory
    or less)."""
    path = Path(path)
    reader = _open(path)
    if isinstance(reader, sitk.ImageFileReader) and reader.GetImageIO() == "NiftiImageIO":
        _check_nifti_length(path, reader)
    return check_ct_values(read_voxels(reader, f"{path}: the voxel data", "copy or export the CT again",
                                       keep_integers), path)


def _suffix(name: str) -> str:
    """The supported image extension `name` ends with (any letter case), or "" for none."""
    lower = name.lower()
    return next((suffix for suffix in IMAGE_IOS if lower.endswith(suffix)), "")


def _open(path: Path) -> sitk.ImageReaderBase:
    """A reader whose header was checked: ImageFileReader for a file, ImageSeriesReader for a DICOM folder."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder; check the path (give {SUPPORTED})")
    return _series_reader(path) if path.is_dir() else _file_reader(path)


def _file_reader(path: Path) -> sitk.ImageFileReader:
    """A reader bound to the format the extension names, so a file is never read as something else."""
    image_io = IMAGE_IOS.get(_suffix(path.name))
    if image_io is None:
        raise InputError(f"{path}: unsupported file format; give {SUPPORTED}")
    reader = sitk.ImageFileReader()
    reader.SetImageIO(image_io)
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError as err:
        raise InputError(f"{path}: can't be read as a {FORMAT_NAMES[image_io]} image (not an image, or damaged); "
                         f"export the CT again as {SUPPORTED}") from err
    _check_shape(path, reader.GetSize(), reader.GetNumberOfComponents())
    check_geometry(reader.GetSpacing(), reader.GetDirection(), str(path))
    if image_io == "NiftiImageIO":
        check_nifti_pixdim(path)
    return reader


def _check_shape(path: Path, size: tuple[int, ...], components: int) -> None:
    """Refuse anything but one greyscale 3D volume: the models segment 3D CT in HU."""
    shape = "x".join(str(n) for n in size)
    if components > 1:
        raise InputError(f"{path}: a colour or vector image ({components} values per voxel, size {shape}); "
                         f"give the greyscale CT in HU")
    if len(size) > 3:
        raise InputError(f"{path}: a {len(size)}D image (size {shape}); give one 3D CT volume "
                         f"(export a single phase or time point)")
    if len(size) < 3 or min(size) < 2:
        raise InputError(f"{path}: a 2D image (size {shape}, a single slice); give the 3D CT volume with all "
                         f"its slices")


def _check_nifti_length(path: Path, reader: sitk.ImageFileReader) -> None:
    """ITK silently fills a truncated NIfTI with zeros, so compare the data's length with its header's."""
    meta = reader.GetMetaData
    voxels = math.prod(int(meta(f"dim[{axis}]")) for axis in range(1, int(meta("dim[0]")) + 1))
    needed = int(float(meta("vox_offset"))) + voxels * int(meta("bitpix")) // 8
    if _data_length(path) < needed:
        raise InputError(f"{path}: the file is truncated (it holds less image data than its header says); "
                         f"copy or export the CT again")


def _data_length(path: Path) -> int:
    """The file's length once decompressed; a cut-off or damaged gzip stream counts what it delivered."""
    with path.open("rb") as raw:
        if raw.read(len(GZIP_MAGIC)) != GZIP_MAGIC:
            return path.stat().st_size
    length = 0
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(1 << 24):
                length += len(chunk)
    except (EOFError, OSError, zlib.error):
        pass
    return length


def _series_reader(folder: Path) -> sitk.ImageSeriesReader:
    series = _ct_series(folder)
    _check_shape(folder, series.size, series.components)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(ordered_series_files(series.files, f"{folder}: the CT series"))
    return reader


def _ct_series(folder: Path) -> _Series:
    """The folder's only CT series; other objects (SEG, RTSTRUCT, reports) are ignored, not taken for slices."""
    with _itk_warnings_off():
        uids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    found = [_describe(folder, uid) for uid in uids]
    if not found:
        raise InputError(_no_dicom_message(folder))
    ct = [series for series in found if series.modality == "CT"]
    if not ct:
        raise InputError(f"{folder}: no CT series, only {', '.join(map(str, found))}; "
                         f"give the folder of one DICOM CT series")
    if len(ct) > 1:
        raise InputError(f"{folder}: {len(ct)} CT series: {', '.join(map(str, ct))}; "
                         f"give the folder of one series (put each series in a folder of its own)")
    return ct[0]


@contextmanager
def _itk_warnings_off():
    """Silence ITK's multi-line console warnings (e.g. "No Series were found"): the InputError says it better."""
    shown = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(shown)


def _describe(folder: Path, uid: str) -> _Series:
    """Modality, description and shape of a series, from its first file's header."""
    files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), uid)
    reader = sitk.ImageFileReader()
    reader.SetFileName(files[0])
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return _Series(uid, files, "", "", (), 0)  # a DICOM object without an image
    size = reader.GetSize() if len(files) == 1 else (*reader.GetSize()[:2], len(files))
    return _Series(uid, files, _tag(reader, "0008|0060"), _tag(reader, "0008|103e"), size,
                   reader.GetNumberOfComponents())


def _tag(reader: sitk.ImageFileReader, key: str) -> str:
    """A DICOM text element on one line without padding, or "" when absent."""
    return " ".join(reader.GetMetaData(key).split()) if reader.HasMetaDataKey(key) else ""


def _no_dicom_message(folder: Path) -> str:
    entries = sorted(entry.name for entry in folder.iterdir())
    if not entries:
        return f"{folder}: the folder is empty; give {SUPPORTED}"
    return (f"{folder}: no DICOM files directly in this folder ({len(entries)} other entries, e.g. "
            f"{entries[0]!r}); give {SUPPORTED}")
