"""Volumes and CRLM count of a segmentation given as masks, an engine label map or a `.seg.nrrd` file.

Everything is counted in the segmentation's own grid (voxel count x voxel volume), with no resampling, so volumes
are exact to the voxel for anisotropic and oblique grids alike. Segments of a `.seg.nrrd` are found by name
(Liver, CRLM, FLR unless mapped otherwise), since a user may rename them in Slicer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from ..errors import InputError
from ..imaging.header_check import check_geometry
from ..imaging.seg_nrrd import read_seg_nrrd_provenance
from ..imaging.seg_reference import index_to_ras, reference_geometry
from ..vocabulary.labels import LABEL_FLR, split_label_map
from ..vocabulary.segments import SEGMENTS
from .field_of_view import ScanGrid, array_grid, field_of_view, field_of_view_on_own_grid
from .volumes import measure_masks, voxel_volume_ml

DEFAULT_SEGMENT_NAMES = {s.key: s.name for s in SEGMENTS}  # engine key -> segment name: liver -> Liver, ...
# 26-connectivity: lesions touching by a face, an edge or a corner are one lesion (a 3x3x3 block of ones).
LESION_CONNECTIVITY = np.ones((3, 3, 3), bool)


def crlm_count(crlm: np.ndarray) -> int:
    """The number of separate CRLM: 26-connected components, in voxel index space."""
    return int(ndimage.label(crlm, structure=LESION_CONNECTIVITY)[1])


def measure_volumes(liver: np.ndarray, crlm: np.ndarray, flr: np.ndarray, spacing_xyz, direction=None) -> dict:
    """measure_masks' volumes plus crlm_count (the CRLM inside the liver, as crlm_ml counts it), the FLR segment as
    drawn and the largest liver components, for the plausibility warnings (plausibility.py)."""
    voxel_ml = voxel_volume_ml(spacing_xyz, direction)
    return {**measure_masks(liver, crlm, flr, spacing_xyz, direction), "crlm_count": crlm_count(crlm & liver),
            "flr_segment_ml": round(int(np.count_nonzero(flr)) * voxel_ml, 3),
            "liver_components_ml": [round(n * voxel_ml, 3) for n in largest_components(liver)]}


def largest_components(mask: np.ndarray, keep: int = 3) -> list[int]:
    """Voxel counts of the mask's largest 26-connected components, largest first."""
    labels, count = ndimage.label(mask, structure=LESION_CONNECTIVITY)
    if count == 0:
        return []
    sizes = np.bincount(labels.ravel())[1:]
    return sorted((int(n) for n in sizes), reverse=True)[:keep]


def measure_label_map_volumes(label_map: np.ndarray, spacing_xyz) -> dict:
    """Volumes of a label map on the scan's own grid, with the field-of-view check (field_of_view.py)."""
    masks = split_label_map(label_map)
    return {**measure_volumes(masks["liver"], masks["crlm"], masks["flr"], spacing_xyz),
            **field_of_view_on_own_grid(masks["liver"])}


def parse_segment_names(text: str | None) -> dict[str, str]:
    """`Liver=Leber,CRLM=Metastasen,FLR=Rest` -> engine key -> segment name; unnamed segments keep the default."""
    names = dict(DEFAULT_SEGMENT_NAMES)
    if not text:
        return names
    keys_by_name = {s.name.lower(): s.key for s in SEGMENTS}
    for item in text.split(","):
        role, sep, name = (part.strip() for part in item.partition("="))
        if not sep or not name or "=" in name or role.lower() not in keys_by_name:
            raise InputError(f"segment names '{text}': write ROLE=NAME pairs separated by commas, with ROLE one of "
                             f"{', '.join(s.name for s in SEGMENTS)} (e.g. Liver=Leber,CRLM=Tumor,FLR=Rest)")
        names[keys_by_name[role.lower()]] = name
    return names


def pick_segments(by_name: dict, names: dict[str, str], source) -> dict:
    """Liver, CRLM and FLR (masks or segment IDs) by engine key, found by segment name: exact, else the one name
    equal ignoring case; a missing one is an error listing the names there are."""
    picked = {}
    for key, name in names.items():
        match = name if name in by_name else _unique_casefold_match(name, by_name)
        if match is None:
            present = ", ".join(f"'{n}'" for n in by_name) or "none"
            raise InputError(f"{source} has no segment named '{name}' (its segments: {present}); map the names "
                             f"(--segment-names {','.join(f'{s.name}=...' for s in SEGMENTS)})")
        picked[key] = by_name[match]
    return picked


def measure_segmentation_file(path, names: dict[str, str] | None = None) -> dict:
    """Volumes of a `.seg.nrrd` (segments by name) or of an engine label map (1 liver, 2 CRLM, 3 FLR)."""
    return measure_segmentation(path, names)[0]


def measure_segmentation(path, names: dict[str, str] | None = None) -> tuple[dict, dict | None]:
    """measure_segmentation_file's volumes and the file's provenance (imaging/provenance.py: the model that made
    it, and whether it was edited since), None for a label map or a `.seg.nrrd` without one. The volumes carry
    the field-of-view check: a label map is taken to be on the scan's grid, a `.seg.nrrd` is judged against the
    reference geometry it records."""
    masks, grid, provenance = read_segmentation(path, names)
    volumes = measure_volumes(masks["liver"], masks["crlm"], masks["flr"], grid.GetSpacing(), grid.GetDirection())
    if not _is_slicer_segmentation(Path(path)):
        return {**volumes, **field_of_view_on_own_grid(masks["liver"])}, provenance
    scanned = reference_geometry(path)
    scan_grid = None if scanned is None else ScanGrid(*scanned)
    mask_grid = array_grid(masks["liver"].shape, index_to_ras(grid))
    return {**volumes, **field_of_view(masks["liver"], mask_grid, scan_grid)}, provenance


def read_segmentation_masks(path, names: dict[str, str] | None = None,
                            optional: tuple[str, ...] = ()) -> tuple[dict, sitk.Image]:
    """Liver, CRLM and FLR masks (z, y, x) of a `.seg.nrrd` (segments by name) or an engine label map, and an image
    on their grid. A key in `optional` whose segment the file lacks maps to None instead of being an error."""
    return read_segmentation(path, names, optional)[:2]


def read_segmentation(path, names: dict[str, str] | None = None,
                      optional: tuple[str, ...] = ()) -> tuple[dict, sitk.Image, dict | None]:
    """read_segmentation_masks' masks and grid, and the file's provenance."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"segmentation {path} does not exist or is not a file")
    if _is_slicer_segmentation(path):
        masks_by_name, grid, provenance = read_seg_nrrd_provenance(path)
        names = names or DEFAULT_SEGMENT_NAMES
        wanted = {key: name for key, name in names.items()
                  if key not in optional or name in masks_by_name or _unique_casefold_match(name, masks_by_name)}
        masks = pick_segments(masks_by_name, wanted, f"segmentation {path}")
        return {key: masks.get(key) for key in names}, grid, provenance
    if names is not None and names != DEFAULT_SEGMENT_NAMES:
        raise InputError(f"{path} is a label map (1 liver, 2 CRLM, 3 FLR), which has no segment names to map")
    image = read_label_map(path)
    return split_label_map(sitk.GetArrayViewFromImage(image)), image, None


def _unique_casefold_match(name: str, by_name: dict) -> str | None:
    matches = [n for n in by_name if n.casefold() == name.casefold()]
    return matches[0] if len(matches) == 1 else None


def _is_slicer_segmentation(path: Path) -> bool:
    """A `.seg.nrrd`, or any NRRD whose header holds Slicer's segment fields."""
    if path.name.lower().endswith(".seg.nrrd"):
        return True
    if path.suffix.lower() not in (".nrrd", ".nhdr"):
        return False
    import nrrd  # here, not at the top: Slicer's GUI process loads this file and Slicer does not ship pynrrd

    try:
        return "Segment0_ID" in nrrd.read_header(str(path))
    except (nrrd.NRRDError, OSError, ValueError):
        return False  # read_label_map reports what is wrong with the file


def read_label_map(path: Path) -> sitk.Image:
    """A 3D integer image with values 0-3 only, or a one-line InputError."""
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError:
        raise InputError(f"can't read {path} as a .seg.nrrd or an image file (NIfTI, NRRD, MetaImage)") from None
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(f"{path} is not a 3D single-channel label map")
    check_geometry(image.GetSpacing(), image.GetDirection(), str(path))
    array = sitk.GetArrayViewFromImage(image)
    if not np.issubdtype(array.dtype, np.integer):
        raise InputError(f"{path} holds {array.dtype} values; a label map holds integers 0-{LABEL_FLR}")
    values = np.unique(array)
    if values.size and (values.min() < 0 or values.max() > LABEL_FLR):
        raise InputError(f"{path} holds labels {values.tolist()[:10]}; the engine's label map holds only 0 "
                         f"(background), 1 (liver), 2 (CRLM) and {LABEL_FLR} (FLR)")
    return image
