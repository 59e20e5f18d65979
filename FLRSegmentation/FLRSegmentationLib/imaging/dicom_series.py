"""The one DICOM CT series reader's checks, and finding the CT acquisition a segmentation belongs to.

`flrseg segment` (through ct_input), `prepare-dataset` and the annotator all order and check slices here: a
duplicated or missing slice, non-uniform spacing beyond SLICE_STEP_TOLERANCE, slices shifted sideways (a tilt)
and mixed orientations are refused with one line naming the slices, since ITK would silently build a wrong grid.

A download holds more than the CT a segmentation was drawn on: other series, and sometimes several acquisitions
under one series UID (in one folder). Slices are grouped into acquisitions by what must be equal within one volume
(series, acquisition number, frame of reference, orientation, pixel grid), and the acquisition is chosen by the
SOP instances and series the SEG references, never by folder or file name. Slices are ordered by their position
along the slice normal, never by file name or instance number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.errors import InvalidDicomError

from ..errors import InputError
from .voxels import read_voxels

# Slice positions may differ from a uniform step by this fraction of the step (writers round positions).
SLICE_STEP_TOLERANCE = 0.01


@dataclass(frozen=True)
class CtSlice:
    """What one CT file's header says about where its pixels lie."""

    path: Path
    sop_uid: str
    series_uid: str
    acquisition: str
    frame_of_reference: str
    orientation: tuple[float, ...]  # ImageOrientationPatient: row direction, then column direction
    position: tuple[float, float, float]  # ImagePositionPatient of the first pixel
    grid: tuple  # rows, columns, pixel spacing

    @property
    def volume_key(self) -> tuple:
        """Equal for all slices of one acquisition (orientation rounded: writers round the cosines)."""
        return (self.series_uid, self.acquisition, self.frame_of_reference,
                tuple(round(v, 3) for v in self.orientation), self.grid)

    def normal(self) -> np.ndarray:
        return np.cross(self.orientation[:3], self.orientation[3:])


@dataclass(frozen=True)
class PatientFiles:
    ct: tuple[CtSlice, ...]
    segmentations: tuple[Path, ...]  # DICOM-SEG files


def scan_folder(folder: Path) -> PatientFiles:
    """The CT slices and DICOM-SEG files anywhere under `folder`; other files and objects are ignored."""
    ct, segmentations = [], []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            header = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, EOFError, ValueError, KeyError):
            continue  # not DICOM, or unreadable: if it was a needed slice, the acquisition's check says so
        modality = header.get("Modality", "")
        if modality == "SEG":
            segmentations.append(path)
        elif modality == "CT" and (ct_slice := _ct_slice(path, header)) is not None:
            ct.append(ct_slice)
    return PatientFiles(tuple(ct), tuple(segmentations))


def select_acquisition(slices, series_uids=frozenset(), instance_uids=frozenset(), what: str = "") -> list[CtSlice]:
    """The slices of the one acquisition that holds the referenced instances (or, when the reference names only
    series, the only acquisition of those series); `what` names the referring object in errors."""
    if series_uids or instance_uids:
        series = set(series_uids) | {s.series_uid for s in slices if s.sop_uid in instance_uids}
        slices = [s for s in slices if s.series_uid in series]
        if not slices:
            raise InputError(f"{what} refers to CT series {', '.join(sorted(series_uids)) or '(none named)'}, which "
                             f"this patient's folder does not hold; download that series too")
    volumes: dict[tuple, list[CtSlice]] = {}
    for s in slices:
        volumes.setdefault(s.volume_key, []).append(s)
    if not volumes:
        raise InputError("no CT slices in this patient's folder; download the patient's CT series too")
    referenced = [v for v in volumes.values() if any(s.sop_uid in instance_uids for s in v)]
    candidates = referenced or list(volumes.values())
    if len(candidates) > 1:
        described = "; ".join(f"series {v[0].series_uid} acquisition {v[0].acquisition or '-'} ({len(v)} slices)"
                              for v in candidates)
        source = f"{what} does not say which" if what else "no DICOM-SEG tells which the labels belong to"
        raise InputError(f"{len(candidates)} CT acquisitions ({described}) and {source}; keep only the one that "
                         f"was segmented")
    return candidates[0]


def read_acquisition(slices: list[CtSlice]) -> sitk.Image:
    """One acquisition as a float32 HU volume, slices ordered along the normal, after check_slices."""
    where = f"CT series {slices[0].series_uid}" if slices else "CT series"
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames([str(s.path) for s in check_slices(slices, where)])
    return read_voxels(reader, f"{where}: its pixel data", "download it again")


def ordered_series_files(files, where: str) -> list[str]:
    """The files of one series (as GDCM grouped them) ordered along the slice normal, after check_slices."""
    slices = []
    for name in files:
        try:
            header = pydicom.dcmread(name, stop_before_pixels=True)
        except (InvalidDicomError, OSError, EOFError, ValueError, KeyError):
            raise InputError(f"{where}: slice {Path(name).name} is not a readable DICOM file; export the series "
                             f"again") from None
        ct_slice = _ct_slice(Path(name), header)
        if ct_slice is None:
            if len(files) == 1:
                return list(files)  # one file (e.g. multi-frame): ITK reads its own geometry
            raise InputError(f"{where}: slice {Path(name).name} has no position, orientation or pixel spacing; "
                             f"export the series again")
        slices.append(ct_slice)
    return [str(s.path) for s in check_slices(slices, where)]


def _names(slices) -> str:
    shown = ", ".join(s.path.name for s in slices[:4])
    return shown + (f" and {len(slices) - 4} more" if len(slices) > 4 else "")


def check_slices(slices: list[CtSlice], where: str) -> list[CtSlice]:
    """The slices ordered along their normal, if they form one regular grid: one orientation and pixel grid, no
    two at one position, one step between neighbours (within the tolerance), no sideways shift."""
    if len(slices) < 2:
        raise InputError(f"{where} has a single slice; download the whole series")
    groups: dict[tuple, list[CtSlice]] = {}
    for s in slices:
        groups.setdefault((tuple(round(v, 3) for v in s.orientation), s.grid), []).append(s)
    if len(groups) > 1:
        first, *others = sorted(groups.values(), key=len, reverse=True)
        odd = [s for group in others for s in group]
        raise InputError(f"{where}: slices {_names(odd)} have another orientation or pixel grid than "
                         f"{_names(first)}; give one volume per series (export it again)")
    pixel_spacing = slices[0].grid[2]
    if len(pixel_spacing) != 2 or not all(np.isfinite(v) and v > 0 for v in pixel_spacing):
        raise InputError(f"{where}: pixel spacing {list(pixel_spacing)} is not two finite positive numbers")
    normal = slices[0].normal()
    ordered = sorted(slices, key=lambda s: (float(np.dot(s.position, normal)), s.path.name))
    positions = np.array([s.position for s in ordered])
    steps = np.diff(positions @ normal)
    step = float(np.median(steps))
    same = [i for i, d in enumerate(steps) if d < SLICE_STEP_TOLERANCE * max(step, 1e-6)]
    if same or step <= 0:
        i = same[0] if same else 0
        raise InputError(f"{where}: slices {ordered[i].path.name} and {ordered[i + 1].path.name} are at the same "
                         f"position (a duplicated slice, or two acquisitions under one series UID); keep one")
    uneven = [i for i, d in enumerate(steps) if abs(d - step) > SLICE_STEP_TOLERANCE * step]
    if uneven:
        i = uneven[0]
        raise InputError(f"{where}: slice spacing varies from {steps.min():.3f} to {steps.max():.3f} mm (between "
                         f"{ordered[i].path.name} and {ordered[i + 1].path.name} it is {steps[i]:.3f} mm, elsewhere "
                         f"{step:.3f}: slices missing?); download the whole series again")
    drift = positions - positions[0] - np.outer((positions - positions[0]) @ normal, normal)
    shifted = np.linalg.norm(drift, axis=1) > SLICE_STEP_TOLERANCE * step + 1e-3
    if shifted.any():
        raise InputError(f"{where}: slices {_names([s for s, moved in zip(ordered, shifted) if moved])} are "
                         f"shifted sideways against {ordered[0].path.name} (gantry tilt); resample the series to an "
                         f"untilted grid first")
    return ordered


def _ct_slice(path: Path, header) -> CtSlice | None:
    """The slice, or None for a CT object that can't be a slice of a volume (no position, orientation or spacing;
    enhanced multi-frame CT): if the SEG needs it, the acquisition's checks report the gap."""
    if int(header.get("NumberOfFrames", 1) or 1) > 1:
        return None
    try:
        return CtSlice(path, str(header.SOPInstanceUID), str(header.SeriesInstanceUID),
                       str(header.get("AcquisitionNumber", "") or ""), str(header.get("FrameOfReferenceUID", "")),
                       tuple(float(v) for v in header.ImageOrientationPatient),
                       tuple(float(v) for v in header.ImagePositionPatient),
                       (int(header.Rows), int(header.Columns), tuple(round(float(v), 4) for v in header.PixelSpacing)))
    except (AttributeError, TypeError, ValueError):
        return None
