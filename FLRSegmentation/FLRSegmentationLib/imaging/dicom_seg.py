"""Read a DICOM Segmentation (SEG): its segments, what it refers to, and each segment as a mask on the CT grid.

Every frame is placed by its own position and orientation (grid_placement), never by its index: frames may cover
only the slices a segment touches, come in any order, or run with rows or columns flipped relative to the CT.
BINARY, FRACTIONAL (thresholded at half the maximum) and LABELMAP segmentations are read with pydicom, one frame
at a time with pydicom 3, so a large SEG never sits decoded in memory whole (pydicom 2 decodes it whole).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk

from ..errors import InputError
from .grid_placement import OffGridError, place
from .image_grid import ImageGrid


@dataclass(frozen=True)
class SegHeader:
    path: Path
    segments: dict[int, str]  # segment number -> label
    series_uids: frozenset[str]  # referenced series
    instance_uids: frozenset[str]  # referenced SOP instances (series references and per-frame sources)
    frame_of_reference: str


def read_seg_header(path: Path) -> SegHeader:
    try:
        header = pydicom.dcmread(path, stop_before_pixels=True)
        segments = {int(item.SegmentNumber): str(item.SegmentLabel) for item in header.SegmentSequence}
    except (AttributeError, OSError, ValueError, EOFError) as err:
        raise InputError(f"{path}: a DICOM-SEG without a readable segment list ({err}); download it again") from None
    series, instances = set(), set()
    for item in header.get("ReferencedSeriesSequence", []):
        series.add(str(item.SeriesInstanceUID))
        instances.update(str(ref.ReferencedSOPInstanceUID) for ref in item.get("ReferencedInstanceSequence", []))
    for frame in header.get("PerFrameFunctionalGroupsSequence", []):
        for derivation in frame.get("DerivationImageSequence", []):
            instances.update(str(src.ReferencedSOPInstanceUID) for src in derivation.get("SourceImageSequence", []))
    return SegHeader(path, segments, frozenset(series), frozenset(instances),
                     str(header.get("FrameOfReferenceUID", "")))


def read_segment_masks(seg: SegHeader, ct: sitk.Image, ct_frame_of_reference: str) -> tuple[dict[int, np.ndarray], int]:
    """Segment number -> bool mask (z, y, x) on the CT's grid, and the number of frames placed."""
    path = seg.path
    if seg.frame_of_reference and ct_frame_of_reference and seg.frame_of_reference != ct_frame_of_reference:
        raise InputError(f"{path}: the SEG's frame of reference is not its CT's, so its positions can't be matched")
    target = ImageGrid.of_image(ct)
    masks = {number: np.zeros(ct.GetSize()[::-1], bool) for number in seg.segments}
    count = 0
    try:
        dataset = pydicom.dcmread(path)
        kind = str(dataset.get("SegmentationType", "BINARY")).upper()
        for index, frame in enumerate(_frames(dataset)):
            geometry = _frame_geometry(dataset, index)
            try:
                placement = place(geometry, target)
            except OffGridError as err:
                raise InputError(f"{path}: frame {index + 1} does not lie on the CT's voxels: {err}") from None
            for number, mask in _frame_masks(dataset, index, frame, kind):
                if number not in masks:
                    raise InputError(f"{path}: frame {index + 1} belongs to segment {number}, which the SEG does "
                                     f"not list")
                masks[number][placement.region] |= placement.aligned(mask[np.newaxis])
            count += 1
    except (AttributeError, IndexError, ValueError, NotImplementedError, RuntimeError, OSError, EOFError) as err:
        raise InputError(f"{path}: its frames can't be read ({type(err).__name__}: {err}); download it again") from None
    return masks, count


def _frames(dataset):
    """The frames one at a time (pydicom 3's iter_pixels); 1-bit frames that don't end on a byte boundary, and any
    SEG under pydicom 2 (Slicer 5.10 ships 2.4.4, which has no pydicom.pixels), are unpacked together."""
    try:
        from pydicom.pixels import iter_pixels
    except ImportError:
        iter_pixels = None
    if iter_pixels is None or int(dataset.BitsAllocated) == 1 and (int(dataset.Rows) * int(dataset.Columns)) % 8:
        yield from dataset.pixel_array.reshape(-1, int(dataset.Rows), int(dataset.Columns))
    else:
        yield from iter_pixels(dataset)


def _frame_geometry(dataset, index: int) -> ImageGrid:
    """One frame as a one-slice grid: columns along the row direction, rows along the column direction."""
    orientation = np.array(_functional_group(dataset, index, "PlaneOrientationSequence").ImageOrientationPatient,
                           float)
    row_spacing, column_spacing = (float(v) for v in _functional_group(dataset, index,
                                                                          "PixelMeasuresSequence").PixelSpacing)
    position = tuple(float(v) for v in _functional_group(dataset, index, "PlanePositionSequence").ImagePositionPatient)
    row, column = orientation[:3], orientation[3:]
    direction = np.column_stack([row, column, np.cross(row, column)])
    return ImageGrid((int(dataset.Columns), int(dataset.Rows), 1), (column_spacing, row_spacing, 1.0), position,
                     tuple(direction.ravel().tolist()))


def _frame_masks(dataset, index: int, frame: np.ndarray, kind: str):
    """(segment number, 2D mask) pairs of one frame."""
    if kind == "LABELMAP":
        return [(int(value), frame == value) for value in np.unique(frame) if value != 0]
    number = int(_functional_group(dataset, index, "SegmentIdentificationSequence").ReferencedSegmentNumber)
    if kind == "FRACTIONAL":
        return [(number, frame > int(dataset.MaximumFractionalValue) / 2)]
    return [(number, frame > 0)]


def _functional_group(dataset, index: int, name: str):
    """A functional group's item for a frame: its own, else the shared one."""
    for groups in (dataset.PerFrameFunctionalGroupsSequence[index], dataset.SharedFunctionalGroupsSequence[0]):
        if name in groups:
            return groups[name].value[0]
    raise ValueError(f"frame {index + 1} has no {name}")
