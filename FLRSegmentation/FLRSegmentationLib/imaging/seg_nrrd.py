"""Slicer segmentation files (`.seg.nrrd`) without Slicer: write our masks, read ours and the ones Slicer saves.

The layout follows what Slicer's vtkMRMLSegmentationStorageNode writes and reads (checked against the real class
in the tests): an LPS NRRD on the reference image's grid, either 3D (one layer) or 4D with the layer as the first
(fastest) axis of kind "list"; segments that don't overlap may share a layer with different label values; each
segment's metadata sits in `SegmentN_*` key/value fields and the whole segmentation's in `Segmentation_*` fields.
Arrays are numpy in SimpleITK order (z, y, x).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..errors import InputError
from ..vocabulary.segments import SEGMENTS_BY_KEY
from .provenance import (PROVENANCE_TAG, index_to_lps, mask_signature, provenance_from_header, tag_text,
                         with_edit_state)

TERMINOLOGY_TAG = "TerminologyEntry"  # vtkSegment.GetTerminologyEntryTagName()
BINARY_LABELMAP = "Binary labelmap"
REFERENCE_GEOMETRY_PARAMETER = "Reference image geometry"
EMPTY_EXTENT = (0, -1, 0, -1, 0, -1)
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])
# What can go wrong reading a damaged file: empty or bad header, short or corrupt gzip stream, wrong sizes (and
# nrrd.NRRDError). pynrrd is imported where it is used: Slicer's GUI process loads this file before the module's
# dependency installer has run, and Slicer does not ship pynrrd.
_READ_ERRORS = (OSError, EOFError, StopIteration, ValueError, zlib.error)


def write_seg_nrrd(path, masks: dict[str, np.ndarray], reference: sitk.Image, provenance: dict | None = None) -> None:
    """Write `masks` (segment key -> bool array (z, y, x)) as a Slicer segmentation on `reference`'s grid.

    Segments are written in the table's order (Liver, CRLM, FLR, then Resected) with its names, colours and terminology, so
    Slicer shows the file as is; overlapping segments go to separate layers. `provenance` (imaging/provenance.py),
    with each segment's mask signature added, goes into every segment's tags.
    """
    import nrrd

    if reference.GetDimension() != 3:
        raise ValueError(f"the reference image must be 3D, not {reference.GetDimension()}D")
    segments = _segments_for(masks)
    shape = reference.GetSize()[::-1]
    arrays = [_checked_mask(masks[s.key], shape, s.key) for s in segments]
    layers, placements = _pack_layers(arrays, shape)
    header = _geometry_header(reference, len(layers))
    tags = ""
    if provenance is not None:
        matrix = index_to_lps(reference)
        signed = {**provenance, "segments": {s.name: mask_signature(m, matrix) for s, m in zip(segments, arrays)}}
        tags = f"{PROVENANCE_TAG}:{tag_text(signed)}|"
    for index, (segment, mask, (layer, label)) in enumerate(zip(segments, arrays, placements)):
        header.update(_segment_fields(index, segment, mask, layer, label, tags))
    header.update(_segmentation_fields(reference))
    data = layers[0] if len(layers) == 1 else np.stack(layers, axis=-1)
    nrrd.write(str(path), data, header, index_order="C", compression_level=6)


def read_seg_nrrd_provenance(path) -> tuple[dict[str, np.ndarray], sitk.Image, dict | None]:
    """read_seg_nrrd's masks and grid, and the file's provenance with `edited` set from the masks (None when the
    file has none: made elsewhere, or by a version that did not record it)."""
    import nrrd

    masks, grid = read_seg_nrrd(path)
    provenance = provenance_from_header(nrrd.read_header(str(path)))
    matrix = index_to_lps(grid)
    return masks, grid, with_edit_state(provenance, {name: mask_signature(m, matrix) for name, m in masks.items()})


def read_seg_nrrd(path) -> tuple[dict[str, np.ndarray], sitk.Image]:
    """Read a `.seg.nrrd` into segment name -> bool array (z, y, x), plus an image with the masks' grid.

    Reads what write_seg_nrrd and Slicer write (3D or 4D, shared layers, label values, segment extents). The
    grid is the file's: Slicer writes the reference volume's grid unless segments reach outside it.
    """
    import nrrd

    path = Path(path)
    try:
        data, header = nrrd.read(str(path), index_order="C")
    except (nrrd.NRRDError, *_READ_ERRORS) as error:
        raise InputError(f"Can't read segmentation file {path}: {_one_line(error)}") from None
    layers = _layers(data, header, path)
    reference = _reference_image(header, layers.shape[:3], path)
    segments = _file_segments(header, layers.shape[3], path)
    masks = {}
    for segment in segments:
        if segment.name in masks:
            raise InputError(f"Segmentation file {path} has two segments named '{segment.name}'; "
                             "rename one in Slicer")
        window = _layer_window([s for s in segments if s.layer == segment.layer], layers.shape[:3])
        masks[segment.name] = np.zeros(layers.shape[:3], bool)
        masks[segment.name][window] = layers[window + (segment.layer,)] == segment.label
    return masks, reference


def _segments_for(masks: dict) -> list:
    """The table's segments for the given keys, in table order; unknown keys are a programming error."""
    unknown = sorted(set(masks) - set(SEGMENTS_BY_KEY))
    if unknown:
        raise ValueError(f"unknown segment keys {unknown}; expected some of {list(SEGMENTS_BY_KEY)}")
    return [s for s in SEGMENTS_BY_KEY.values() if s.key in masks]


def _checked_mask(mask, shape: tuple, key: str) -> np.ndarray:
    """The mask as bool, refusing one that is not on the reference grid (a silent resample would shift it)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != tuple(shape):
        raise ValueError(f"mask '{key}' has shape {mask.shape}, the reference image needs {tuple(shape)} (z, y, x)")
    return mask


def _pack_layers(masks: list, shape: tuple) -> tuple[list, list]:
    """Put each mask into the first layer it doesn't overlap: Liver and its parts need 2 layers, not 3.

    Returns the uint8 layers and, per mask, its (layer index, label value).
    """
    layers, counts, placements = [], [], []
    for mask in masks:
        layer = next((i for i, data in enumerate(layers) if not data[mask].any()), None)
        if layer is None:
            layers.append(np.zeros(shape, np.uint8))
            counts.append(0)
            layer = len(layers) - 1
        counts[layer] += 1
        layers[layer][mask] = counts[layer]
        placements.append((layer, counts[layer]))
    return layers, placements


def _geometry_header(reference: sitk.Image, layer_count: int) -> dict:
    """NRRD geometry fields: LPS space directions (one column of the direction matrix times spacing per axis)."""
    direction = np.array(reference.GetDirection(), float).reshape(3, 3)
    axes = (direction * np.array(reference.GetSpacing(), float)).T  # row i: index axis i in LPS mm
    header = {"space": "left-posterior-superior", "encoding": "gzip",
              "space origin": np.array(reference.GetOrigin(), float)}
    if layer_count == 1:
        header.update({"space directions": axes, "kinds": ["domain"] * 3})
    else:
        header.update({"space directions": np.vstack([np.full(3, np.nan), axes]),
                       "kinds": ["list", "domain", "domain", "domain"]})
    return header


def _segment_fields(index: int, segment, mask: np.ndarray, layer: int, label: int, tags: str = "") -> dict:
    """The `SegmentN_*` fields Slicer's storage node writes for one segment."""
    prefix = f"Segment{index}_"
    return {
        prefix + "ID": segment.key,
        prefix + "Name": segment.name,
        prefix + "Color": " ".join(repr(float(c)) for c in segment.color),
        prefix + "ColorAutoGenerated": "0",
        prefix + "NameAutoGenerated": "0",
        prefix + "Extent": " ".join(str(v) for v in _extent(mask)),
        prefix + "LabelValue": str(label),
        prefix + "Layer": str(layer),
        prefix + "Tags": f"{TERMINOLOGY_TAG}:{segment.terminology_entry}|{tags}",
    }


def _extent(mask: np.ndarray) -> tuple:
    """Bounding box as a VTK extent (x0 x1 y0 y1 z0 z1); Slicer keeps only this part of the segment's layer."""
    if not mask.any():
        return EMPTY_EXTENT
    bounds = []
    for axis in (2, 1, 0):  # x, y, z from a (z, y, x) array
        hits = np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis)))
        bounds += [int(hits[0]), int(hits[-1])]
    return tuple(bounds)


def _segmentation_fields(reference: sitk.Image) -> dict:
    """The `Segmentation_*` fields, with the reference geometry so Slicer edits on the CT's grid."""
    return {
        "Segmentation_MasterRepresentation": BINARY_LABELMAP,
        "Segmentation_ContainedRepresentationNames": f"{BINARY_LABELMAP}|",
        "Segmentation_ReferenceImageExtentOffset": "0 0 0",
        "Segmentation_ConversionParameters": f"{REFERENCE_GEOMETRY_PARAMETER}|{_reference_geometry(reference)}|&",
    }


def _reference_geometry(reference: sitk.Image) -> str:
    """Slicer's serialized image geometry: the IJK-to-RAS matrix row by row, then the extent, ';'-terminated."""
    direction = np.array(reference.GetDirection(), float).reshape(3, 3)
    matrix = np.eye(4)
    matrix[:3, :3] = LPS_TO_RAS @ direction @ np.diag(reference.GetSpacing())
    matrix[:3, 3] = LPS_TO_RAS @ np.array(reference.GetOrigin(), float)
    size = reference.GetSize()
    extent = (0, size[0] - 1, 0, size[1] - 1, 0, size[2] - 1)
    return "".join(f"{v};" for v in [repr(float(m)) for m in matrix.ravel()] + [str(e) for e in extent])


def _one_line(error: Exception) -> str:
    """An exception's message on one line, for InputError."""
    return " ".join(str(error).split()) or type(error).__name__


def _layers(data: np.ndarray, header: dict, path: Path) -> np.ndarray:
    """The voxel data as (z, y, x, layer): a 3D file is one layer, a 4D file has the layer as its first axis."""
    kinds = header.get("kinds", [])
    if data.ndim == 3:
        return data[..., np.newaxis]
    if data.ndim == 4 and (not kinds or kinds[0] not in ("domain", "space")):
        return data
    raise InputError(f"Segmentation file {path} is {data.ndim}D with axis kinds {kinds}; "
                     "expected a 3D or a 4D Slicer segmentation (layers first)")


def _reference_image(header: dict, shape: tuple, path: Path) -> sitk.Image:
    """An empty image on the file's grid (LPS, as SimpleITK uses), from the NRRD space fields."""
    space = header.get("space", "")
    if space in ("left-posterior-superior", "LPS"):
        to_lps = np.eye(3)
    elif space in ("right-anterior-superior", "RAS"):
        to_lps = LPS_TO_RAS
    else:
        raise InputError(f"Segmentation file {path} has space '{space}'; expected left-posterior-superior")
    directions = np.asarray(header.get("space directions", np.full((3, 3), np.nan)), float)
    axes = directions[-3:] @ to_lps.T  # row i: index axis i in LPS mm; the layer axis (if any) comes first
    spacing = np.linalg.norm(axes, axis=1)
    if not np.all(np.isfinite(axes)) or not np.all(spacing > 0):
        raise InputError(f"Segmentation file {path} has no valid 'space directions' for its three image axes")
    image = sitk.Image([int(n) for n in shape[::-1]], sitk.sitkUInt8)
    image.SetSpacing([float(s) for s in spacing])
    image.SetDirection([float(v) for v in (axes / spacing[:, None]).T.ravel()])
    image.SetOrigin([float(v) for v in to_lps @ np.asarray(header.get("space origin", np.zeros(3)), float)])
    return image


@dataclass(frozen=True)
class _FileSegment:
    name: str
    layer: int
    label: int
    extent: np.ndarray | None  # x0 x1 y0 y1 z0 z1 in file voxels; None: the whole layer


def _file_segments(header: dict, layer_count: int, path: Path) -> list[_FileSegment]:
    """The segments' metadata; Slicer numbers segments from 0 and stops at the first missing `SegmentN_ID`."""
    segments = []
    while f"Segment{len(segments)}_ID" in header:
        segments.append(_file_segment(header, len(segments), layer_count, path))
    if not segments:
        raise InputError(f"Segmentation file {path} has no segment metadata (Segment0_ID), so it is not a Slicer "
                         "segmentation; save it from Slicer's Segmentations module as .seg.nrrd")
    return segments


def _file_segment(header: dict, index: int, layer_count: int, path: Path) -> _FileSegment:
    """One segment's fields, with Slicer's defaults: layer = segment index, label value 1, no extent."""
    prefix = f"Segment{index}_"
    name = header.get(prefix + "Name", header[prefix + "ID"])
    where = f"Segmentation file {path}: segment '{name}'"
    try:
        layer = int(header.get(prefix + "Layer", index))
        label = int(header.get(prefix + "LabelValue", 1))
        extent = [int(v) for v in header[prefix + "Extent"].split()] if prefix + "Extent" in header else None
    except ValueError:
        raise InputError(f"{where} has a non-integer layer, label value or extent") from None
    if not 0 <= layer < layer_count:
        raise InputError(f"{where} is in layer {layer}, but the file has {layer_count} layer(s)")
    if extent is not None and len(extent) != 6:
        raise InputError(f"{where} has an extent of {len(extent)} numbers, not 6")
    return _FileSegment(name, layer, label, None if extent is None else np.array(extent))


def _layer_window(members: list[_FileSegment], shape: tuple) -> tuple:
    """Slices (z, y, x) of the union of the extents of a layer's segments: Slicer ignores voxels outside it."""
    if any(m.extent is None for m in members):
        return (slice(None),) * 3
    size = np.array(shape[::-1])  # x, y, z
    low, high = size.copy(), np.full(3, -1)
    for extent in (m.extent for m in members):
        if np.all(extent[1::2] >= extent[0::2]):
            low, high = np.minimum(low, extent[0::2]), np.maximum(high, extent[1::2])
    low, high = np.maximum(low, 0), np.minimum(high, size - 1)
    if np.any(high < low):
        return (slice(0, 0),) * 3
    return tuple(slice(int(low[a]), int(high[a]) + 1) for a in (2, 1, 0))
