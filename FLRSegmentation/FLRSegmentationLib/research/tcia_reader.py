"""Read one patient of a TCIA "Colorectal-Liver-Metastases" (CRLM-CT-Seg) download, or of data laid out like it:
the CT the DICOM-SEG was drawn on, and the engine's label map (1 liver, 2 CRLM, 3 FLR) on that CT's exact grid.

SEG segments are matched by name, ignoring case and separators: `Liver`; `Liver Remnant` (the FLR); `Tumor_1` ...
`Tumor_N` (together the CRLM); `Hepatic` and `Portal` (vessels) are not used. The label map follows the engine's
own post-processing rules (without the largest-component rule, which is for predictions): CRLM and FLR inside the
liver, tumour never counted as remnant. What those rules removed is counted in the facts, so the dataset's
conventions are measured, not assumed.

Refined labels can replace the SEG: a label map (0-3, as the engine writes) or a `.seg.nrrd` with Liver, CRLM and
FLR segments, on the CT's voxels in any axis order. The collection's facts: docs/DATASET.md section 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..errors import InputError
from ..imaging.dicom_seg import SegHeader, read_seg_header, read_segment_masks
from ..imaging.dicom_series import CtSlice, read_acquisition, scan_folder, select_acquisition
from ..imaging.grid_placement import OffGridError, place
from ..imaging.image_grid import ImageGrid
from ..imaging.seg_nrrd import read_seg_nrrd
from ..inference.postprocess import PostprocessRules, apply_rules
from ..vocabulary.labels import combine_masks
from ..volumetry.segmentation_volumes import (DEFAULT_SEGMENT_NAMES, measure_label_map_volumes, pick_segments,
                                              read_label_map)

REFERENCE_RULES = PostprocessRules(largest_liver_component=False)
REFINED_LABEL_SUFFIXES = (".seg.nrrd", ".nii.gz", ".nii", ".nrrd")


@dataclass(frozen=True)
class PatientLabels:
    ct: sitk.Image  # float32 HU
    label_map: sitk.Image  # uint8 on the CT's grid: 0 background, 1 liver, 2 CRLM, 3 FLR
    facts: dict  # where the data came from and what was measured, JSON-ready


def segment_role(label: str) -> str | None:
    """liver, flr, crlm or vessel for the dataset's segment names in any case and spelling of separators."""
    key = re.sub(r"[^a-z0-9]", "", label.casefold())
    if key == "liver":
        return "liver"
    if key == "liverremnant":
        return "flr"
    if re.fullmatch(r"tumou?r\d*", key):
        return "crlm"
    if key in ("hepatic", "portal"):
        return "vessel"
    return None


def read_ct_and_segments(folder: Path) -> tuple[sitk.Image, dict[str, np.ndarray], dict]:
    """The CT the folder's DICOM-SEG refers to, each segment by label as a bool mask (z, y, x) on its grid, and
    facts about where they came from."""
    ct, seg, first_slice = _referenced_ct(folder, seg_required=True)
    masks_by_number, frames = read_segment_masks(seg, ct, first_slice.frame_of_reference)
    masks: dict[str, np.ndarray] = {}
    for number, label in seg.segments.items():
        masks[label] = masks[label] | masks_by_number[number] if label in masks else masks_by_number[number]
    return ct, masks, dict(_source_facts(folder, ct, seg, first_slice), seg_frames=frames)


def read_patient(folder: Path, labels_file: Path | None = None) -> PatientLabels:
    """The patient's CT and label map, from its DICOM-SEG or, when given, from a refined labels file."""
    if labels_file is None:
        ct, segments, facts = read_ct_and_segments(folder)
        label_map, measured = _label_map_from_segments(segments)
        facts.update(measured)
    else:
        ct, seg, first_slice = _referenced_ct(folder, seg_required=False)
        facts = dict(_source_facts(folder, ct, seg, first_slice), label_source=f"refined labels {labels_file.name}")
        label_map = _refined_label_map(labels_file, ct)
    image = sitk.GetImageFromArray(label_map)
    image.CopyInformation(ct)
    facts["volumes"] = measure_label_map_volumes(label_map, ct.GetSpacing())
    return PatientLabels(ct, image, facts)


def refined_labels_file(labels_dir: Path, patient: str) -> Path:
    """The patient's refined labels: `<patient>` with one of REFINED_LABEL_SUFFIXES."""
    found = [labels_dir / f"{patient}{suffix}" for suffix in REFINED_LABEL_SUFFIXES
             if (labels_dir / f"{patient}{suffix}").is_file()]
    if not found:
        raise InputError(f"no refined labels for {patient} in {labels_dir} (expected {patient} with one of "
                         f"{', '.join(REFINED_LABEL_SUFFIXES)})")
    if len(found) > 1:
        raise InputError(f"several refined label files for {patient}: {', '.join(p.name for p in found)}; keep one")
    return found[0]


def _referenced_ct(folder: Path, seg_required: bool) -> tuple[sitk.Image, SegHeader | None, CtSlice]:
    """The CT acquisition the DICOM-SEG refers to (the only one, without a SEG), its SEG header and a slice."""
    files = scan_folder(folder)
    if len(files.segmentations) > 1:
        names = ", ".join(str(p.relative_to(folder)) for p in files.segmentations)
        raise InputError(f"several DICOM-SEG files ({names}); keep the one to train on")
    if not files.segmentations and seg_required:
        raise InputError("no DICOM-SEG (or none that can be read) in this patient's folder; download it, or give "
                         "refined labels with --labels")
    if files.segmentations:
        seg = read_seg_header(files.segmentations[0])
        slices = select_acquisition(files.ct, seg.series_uids, seg.instance_uids,
                                    f"the DICOM-SEG {seg.path.relative_to(folder)}")
    else:
        seg, slices = None, select_acquisition(files.ct)
    return read_acquisition(slices), seg, slices[0]


def _source_facts(folder: Path, ct: sitk.Image, seg: SegHeader | None, first_slice: CtSlice) -> dict:
    facts = {"ct_series_uid": first_slice.series_uid, "ct_acquisition": first_slice.acquisition,
             "ct_size": list(ct.GetSize()), "ct_spacing_mm": [round(s, 4) for s in ct.GetSpacing()]}
    if seg is not None:
        facts["label_source"] = f"DICOM-SEG {seg.path.relative_to(folder)}"
        facts["segments"] = {label: segment_role(label) or "unused" for label in seg.segments.values()}
    return facts


def _label_map_from_segments(segments: dict[str, np.ndarray]) -> tuple[np.ndarray, dict]:
    """The label map from the SEG's segments, with the voxel counts the engine's rules took away."""
    shape = next(iter(segments.values())).shape
    union = {role: np.zeros(shape, bool) for role in ("liver", "flr", "crlm")}
    for label, mask in segments.items():
        role = segment_role(label)
        if role in union:
            union[role] |= mask
    for role, name in (("liver", "Liver"), ("flr", "Liver Remnant")):
        if not union[role].any():
            present = ", ".join(f"'{label}'" for label in segments) or "none"
            raise InputError(f"the DICOM-SEG has no (non-empty) '{name}' segment (its segments: {present})")
    liver, crlm, flr = union["liver"], union["crlm"], union["flr"]
    measured = {"tumour_voxels_outside_liver": int((crlm & ~liver).sum()),
                "remnant_voxels_outside_liver": int((flr & ~liver).sum()),
                "remnant_voxels_in_tumour": int((flr & crlm).sum())}
    return combine_masks(*apply_rules(liver, crlm, flr, REFERENCE_RULES)), measured


def _refined_label_map(path: Path, ct: sitk.Image) -> np.ndarray:
    if path.name.lower().endswith(".seg.nrrd"):
        by_name, grid = read_seg_nrrd(path)
        masks = pick_segments(by_name, DEFAULT_SEGMENT_NAMES, f"refined labels {path}")
        array = combine_masks(*apply_rules(masks["liver"], masks["crlm"], masks["flr"], REFERENCE_RULES))
    else:
        grid = read_label_map(path)
        array = sitk.GetArrayFromImage(grid).astype(np.uint8)
    try:
        placement = place(ImageGrid.of_image(grid), ImageGrid.of_image(ct))
    except OffGridError as err:
        raise InputError(f"refined labels {path} do not lie on the CT's voxels: {err}") from None
    label_map = np.zeros(ct.GetSize()[::-1], np.uint8)
    label_map[placement.region] = placement.aligned(array)
    return label_map
