"""Write a phantom (or any 3D SimpleITK image in HU) as a DICOM CT series with complete UIDs, as a scanner would:
one file per slice, each with its position, orientation, spacing, rescale and the study/series/frame-of-reference
UIDs, so DICOM writers and PACS tests see the headers a real CT series has."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


@dataclass(frozen=True)
class SeriesUids:
    study: str
    series: str
    frame_of_reference: str
    instances: tuple[str, ...]


def write_ct_series(image: sitk.Image, folder: Path, patient_id: str = "FLRSEG-PHANTOM-1",
                    study_uid: str | None = None, study_date: str = "20260115", series_number: int = 2,
                    description: str = "phantom CT", modality: str = "CT", skip_slices=()) -> SeriesUids:
    """One file per slice in folder (created), but none for the indices in skip_slices (a series with gaps);
    returns the UIDs written (skipped slices included). modality: another value for a study without CT."""
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.round(sitk.GetArrayFromImage(image)).astype(np.int16)  # z, y, x
    direction = np.array(image.GetDirection()).reshape(3, 3)
    row, column = direction[:, 0], direction[:, 1]
    sx, sy, sz = image.GetSpacing()
    uids = SeriesUids(study_uid or generate_uid(), generate_uid(), generate_uid(),
                      tuple(generate_uid() for _ in range(pixels.shape[0])))
    for k, sop_uid in enumerate(uids.instances):
        if k in skip_slices:
            continue
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = sop_uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = pydicom.Dataset()
        ds.file_meta = meta
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sop_uid
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = study_date
        ds.StudyTime = ds.SeriesTime = ds.ContentTime = ds.AcquisitionTime = "101500"
        ds.AccessionNumber = "FLR0001"
        ds.Modality = modality
        ds.Manufacturer = "FLRSEG test phantom"
        ds.ReferringPhysicianName = "Referrer^Test"
        ds.StudyDescription = "CT abdomen portal venous"
        ds.SeriesDescription = description
        ds.PatientName = "Phantom^Liver"
        ds.PatientID = patient_id
        ds.PatientBirthDate = "19600101"
        ds.PatientSex = "O"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = uids.study, uids.series
        ds.StudyID = "1"
        ds.PatientPosition, ds.Laterality = "FFS", ""
        ds.SeriesNumber, ds.InstanceNumber, ds.AcquisitionNumber = series_number, k + 1, 1
        ds.FrameOfReferenceUID = uids.frame_of_reference
        ds.PositionReferenceIndicator = ""
        ds.KVP = 120
        ds.SliceThickness = f"{sz:.4f}"
        ds.ImagePositionPatient = [f"{v:.6f}" for v in image.TransformIndexToPhysicalPoint((0, 0, k))]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in (*row, *column)]
        ds.PixelSpacing = [f"{sy:.6f}", f"{sx:.6f}"]  # row spacing (between rows, along y), column spacing
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = pixels.shape[1], pixels.shape[2]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "HU"
        ds.WindowCenter, ds.WindowWidth = "60", "400"
        ds.PixelData = pixels[k].tobytes()
        ds.save_as(folder / f"CT{k + 1:04d}.dcm", enforce_file_format=True)
    return uids
