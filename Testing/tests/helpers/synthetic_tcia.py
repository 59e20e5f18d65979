"""A small TCIA-like download written from phantoms: per patient a DICOM CT series (pydicom) and a DICOM-SEG
(highdicom, an independent writer) with the CRLM-CT-Seg segment names, plus the dataset's pitfalls on purpose:
SEG frames only where a segment is, a SEG with flipped rows and reversed frame order, a FRACTIONAL SEG, several
acquisitions and series in one patient's folder, and two patients that can't be used."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import pack_bits
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid
from scipy import ndimage

from FLRSegmentationLib.research.phantom import centered_grid, clinical_grid, make_phantom

ORGAN = hd.sr.CodedConcept("123037004", "SCT", "Anatomical Structure")
LIVER = hd.sr.CodedConcept("10200004", "SCT", "Liver")
VESSEL = hd.sr.CodedConcept("59820001", "SCT", "Blood vessel")
ALTERED = hd.sr.CodedConcept("49755003", "SCT", "Morphologically Altered Structure")
NEOPLASM = hd.sr.CodedConcept("108369006", "SCT", "Neoplasm")
RESCALE_INTERCEPT = -1024  # stored values are HU + 1024, as many scanners write them


@dataclass
class SyntheticPatient:
    ct: sitk.Image  # the phantom CT the series was written from
    truth: sitk.Image  # its label map (1 liver, 2 CRLM, 3 FLR): what the conversion must give back
    seg_tumour_voxels: int = 0  # tumour voxels the SEG also put in 'Liver Remnant'
    seg_remnant_outside: int = 0  # remnant voxels the SEG put outside 'Liver'


def _ds(value: float) -> str:
    return f"{value:.8f}"[:16]


def write_ct_series(ct: sitk.Image, folder: Path, study: dict, series_uid: str, acquisition: int,
                    file_prefix: str, skip_slice: int | None = None) -> list[Dataset]:
    """One single-frame CT file per slice of `ct`; returns the datasets (the SEG's source images)."""
    folder.mkdir(parents=True, exist_ok=True)
    direction = np.asarray(ct.GetDirection()).reshape(3, 3)
    spacing, origin = np.asarray(ct.GetSpacing()), np.asarray(ct.GetOrigin())
    array = sitk.GetArrayFromImage(ct)
    datasets = []
    for k in range(array.shape[0]):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        for key, value in study.items():
            setattr(ds, key, value)
        ds.Modality = "CT"
        ds.SeriesInstanceUID = series_uid
        ds.SeriesNumber = 2
        ds.AcquisitionNumber = acquisition
        ds.InstanceNumber = k + 1
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImageOrientationPatient = [_ds(v) for v in (*direction[:, 0], *direction[:, 1])]
        ds.ImagePositionPatient = [_ds(v) for v in origin + k * spacing[2] * direction[:, 2]]
        ds.PixelSpacing = [_ds(spacing[1]), _ds(spacing[0])]
        ds.SliceThickness = _ds(spacing[2])
        ds.Rows, ds.Columns = array.shape[1:]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = RESCALE_INTERCEPT, 1, "HU"
        ds.PixelData = (array[k].astype(np.int32) - RESCALE_INTERCEPT).astype(np.uint16).tobytes()
        datasets.append(ds)
        if k != skip_slice:
            ds.save_as(folder / f"{file_prefix}-{k + 1:03d}.dcm", enforce_file_format=True)
    return datasets


def segment_masks(truth: sitk.Image, remnant_extra: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The CRLM-CT-Seg segments, in the dataset's order, from a phantom's label map."""
    labels = sitk.GetArrayFromImage(truth)
    tumours, count = ndimage.label(labels == 2)
    liver = labels > 0
    remnant = labels == 3 if remnant_extra is None else (labels == 3) | remnant_extra
    hepatic = liver & (np.indices(labels.shape)[2] % 7 == 0)  # stand-ins: vessels are not used
    portal = liver & (np.indices(labels.shape)[1] % 9 == 0)
    masks = {"Liver": liver, "Liver Remnant": remnant, "Hepatic": hepatic, "Portal": portal}
    masks.update({f"Tumor_{i}": tumours == i for i in range(1, count + 1)})
    return masks


def write_seg(path: Path, sources: list[Dataset], masks: dict[str, np.ndarray], first_slice: int = 0,
              fractional: bool = False) -> Dataset:
    """A DICOM-SEG of `masks` (z, y, x) over `sources` = CT slices first_slice, first_slice + 1, ...; frames without
    any voxel of their segment are left out, as in the dataset."""
    names = list(masks)
    stack = np.stack([masks[n][first_slice:first_slice + len(sources)] for n in names], axis=-1)
    descriptions = [hd.seg.SegmentDescription(
        i + 1, name, ALTERED if name.startswith("Tumor") else ORGAN,
        NEOPLASM if name.startswith("Tumor") else VESSEL if name in ("Hepatic", "Portal") else LIVER, "MANUAL")
        for i, name in enumerate(names)]
    seg = hd.seg.Segmentation(
        sources, stack.astype(np.float32) if fractional else stack,
        "FRACTIONAL" if fractional else "BINARY", descriptions, generate_uid(), 300, generate_uid(), 1,
        "FLR Segmentation tests", "synthetic TCIA", "1", "0")
    path.parent.mkdir(parents=True, exist_ok=True)
    seg.save_as(path)
    return seg


def flip_rows_and_reverse_frames(path: Path) -> None:
    """Rewrite a BINARY SEG so that each frame runs right to left (row direction negated, first pixel moved to the
    other end) and the frames come in reverse order: the same masks, described the other way round."""
    seg = pydicom.dcmread(path)
    frames = seg.pixel_array.reshape(-1, seg.Rows, seg.Columns)[::-1, :, ::-1]
    orientation = seg.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0]
    row = np.array(orientation.ImageOrientationPatient[:3], float)
    column_spacing = float(seg.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing[1])
    orientation.ImageOrientationPatient = [_ds(v) for v in (*-row, *orientation.ImageOrientationPatient[3:])]
    items = list(seg.PerFrameFunctionalGroupsSequence)[::-1]
    for item in items:
        position = item.PlanePositionSequence[0]
        start = np.array(position.ImagePositionPatient, float) + (seg.Columns - 1) * column_spacing * row
        position.ImagePositionPatient = [_ds(v) for v in start]
    seg.PerFrameFunctionalGroupsSequence = items
    seg.PixelData = pack_bits(np.ascontiguousarray(frames).ravel())
    seg.save_as(path)


def study_attributes(patient: str) -> dict:
    return {"PatientID": patient, "PatientName": f"{patient}^", "PatientBirthDate": "19600101", "PatientSex": "O",
            "StudyInstanceUID": generate_uid(), "StudyID": "1", "StudyDate": "20240101", "StudyTime": "120000",
            "AccessionNumber": "1", "ReferringPhysicianName": "", "Manufacturer": "phantom",
            "FrameOfReferenceUID": generate_uid()}


def _axial(seed: int, size=(56, 56, 34), spacing=(6.0, 6.0, 7.0)):
    return make_phantom(seed, grid=clinical_grid(size, spacing))


# The patients whose DICOM can't be used, and a phrase of the reason they must be reported with.
UNUSABLE = {"CRLM-CT-1006": "no (non-empty) 'Liver Remnant' segment", "CRLM-CT-1007": "slice spacing varies"}


def write_tree(root: Path) -> dict[str, SyntheticPatient]:
    """Patients CRLM-CT-1001 ... 1005 are usable; 1006 (no 'Liver Remnant') and 1007 (a CT slice missing) are not,
    though their phantoms are returned too."""
    patients = {}

    # 1001: axial; the remnant segment also holds a tumour and a few voxels outside the liver
    ct, truth = _axial(11)
    study = study_attributes("CRLM-CT-1001")
    sources = write_ct_series(ct, root / "CRLM-CT-1001" / "study" / "2.000000-PORTAL-1", study, generate_uid(), 1, "1")
    masks = segment_masks(truth)
    outside = np.zeros_like(masks["Liver"])
    outside[tuple(int(n) - 1 for n in outside.shape)] = True  # a corner voxel, far outside the liver
    masks = segment_masks(truth, masks["Tumor_1"] | outside)
    write_seg(root / "CRLM-CT-1001" / "study" / "300.000000-Segmentation-1" / "1-1.dcm", sources, masks)
    patients["CRLM-CT-1001"] = SyntheticPatient(ct, truth, int(masks["Tumor_1"].sum()), 1)

    # 1002: oblique, axes permuted by the phantom's random grid; SEG rows flipped, frames reversed, other spellings
    ct, truth = make_phantom(12, base_spacing=6.5)
    study = study_attributes("CRLM-CT-1002")
    sources = write_ct_series(ct, root / "CRLM-CT-1002" / "a" / "ct", study, generate_uid(), 1, "1")
    spelling = {"Liver": "LIVER", "Liver Remnant": "liver_remnant", "Hepatic": "hepatic", "Portal": "PORTAL"}
    masks = {spelling.get(k, k.replace("Tumor_", "TUMOR-")): v for k, v in segment_masks(truth).items()}
    seg_path = root / "CRLM-CT-1002" / "a" / "seg" / "1-1.dcm"
    write_seg(seg_path, sources, masks)
    flip_rows_and_reverse_frames(seg_path)
    patients["CRLM-CT-1002"] = SyntheticPatient(ct, truth)

    # 1003: two acquisitions under one series UID in one folder, another series beside it; the SEG references
    # only the slices around the liver of acquisition 1
    ct, truth = _axial(13)
    study = study_attributes("CRLM-CT-1003")
    series_uid = generate_uid()
    folder = root / "CRLM-CT-1003" / "study" / "series"
    sources = write_ct_series(ct, folder, study, series_uid, 1, "1")
    shifted, _ = make_phantom(13, grid=centered_grid((56, 56, 20), (6.0, 6.0, 5.0), np.eye(3), (0, 0, 40)))
    write_ct_series(shifted, folder, study, series_uid, 2, "2")
    arterial, _ = make_phantom(13, grid=clinical_grid((40, 40, 30), (8.0, 8.0, 8.0)))
    write_ct_series(arterial, root / "CRLM-CT-1003" / "study" / "arterial", study, generate_uid(), 1, "1")
    slices = np.flatnonzero(sitk.GetArrayFromImage(truth).any(axis=(1, 2)))
    first, last = max(0, slices[0] - 2), min(len(sources), slices[-1] + 3)
    write_seg(root / "CRLM-CT-1003" / "study" / "seg.dcm", sources[first:last], segment_masks(truth), first)
    patients["CRLM-CT-1003"] = SyntheticPatient(ct, truth)

    # 1004: FRACTIONAL SEG; 1005: plain BINARY
    for patient, seed, fractional in (("CRLM-CT-1004", 14, True), ("CRLM-CT-1005", 15, False)):
        ct, truth = _axial(seed)
        sources = write_ct_series(ct, root / patient / "ct", study_attributes(patient), generate_uid(), 1, "1")
        write_seg(root / patient / "seg" / "seg.dcm", sources, segment_masks(truth), fractional=fractional)
        patients[patient] = SyntheticPatient(ct, truth)

    # 1006: no 'Liver Remnant'; 1007: one CT slice inside the liver missing from the download
    ct, truth = _axial(16)
    sources = write_ct_series(ct, root / "CRLM-CT-1006" / "ct", study_attributes("CRLM-CT-1006"), generate_uid(), 1, "1")
    masks = {k: v for k, v in segment_masks(truth).items() if k != "Liver Remnant"}
    write_seg(root / "CRLM-CT-1006" / "seg" / "seg.dcm", sources, masks)
    patients["CRLM-CT-1006"] = SyntheticPatient(ct, truth)
    ct, truth = _axial(17)
    middle = int(np.flatnonzero(sitk.GetArrayFromImage(truth).any(axis=(1, 2))).mean())
    sources = write_ct_series(ct, root / "CRLM-CT-1007" / "ct", study_attributes("CRLM-CT-1007"), generate_uid(), 1, "1",
                              skip_slice=middle)
    write_seg(root / "CRLM-CT-1007" / "seg" / "seg.dcm", sources, segment_masks(truth))
    patients["CRLM-CT-1007"] = SyntheticPatient(ct, truth)
    return patients
