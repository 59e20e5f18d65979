"""Who and what a DICOM CT series shows: patient, study and series fields for report headers and case names.

A report read first says whose CT it is; a DICOM folder's name ("DICOM", "1.2.840...") says nothing, so a DICOM case
is named from its series: PatientID and SeriesNumber, else the SeriesDescription, else the folder's name.
"""

from __future__ import annotations

import re
from pathlib import Path

FIELDS = ("PatientName", "PatientID", "StudyDate", "StudyDescription", "SeriesDescription", "SeriesNumber")


def study_fields(first_file: str | Path) -> dict[str, str]:
    """The FIELDS of a series' first file, as one-line text ("" when absent); header only, no pixel data."""
    import pydicom

    header = pydicom.dcmread(str(first_file), stop_before_pixels=True, force=True)
    return {name: " ".join(str(header.get(name, "") or "").split()) for name in FIELDS}


def series_case_name(fields: dict[str, str], fallback: str) -> str:
    """PatientID_S<SeriesNumber>, else the SeriesDescription, else fallback; safe as a file name."""
    if fields.get("PatientID") and fields.get("SeriesNumber"):
        name = f"{fields['PatientID']}_S{fields['SeriesNumber']}"
    else:
        name = fields.get("SeriesDescription") or fallback
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or fallback


def study_text(fields: dict[str, str] | None) -> list[str]:
    """Lines for a report's header: patient name and ID, study date and description, series."""
    if not fields:
        return []
    date = fields.get("StudyDate", "")
    if re.fullmatch(r"\d{8}", date):
        date = f"{date[:4]}-{date[4:6]}-{date[6:]}"
    patient = " ".join(p for p in (fields.get("PatientName", "").replace("^", " ").strip(),
                                   f"(ID {fields['PatientID']})" if fields.get("PatientID") else "") if p)
    study = ", ".join(p for p in (date, fields.get("StudyDescription", "")) if p)
    series = ", ".join(p for p in (f"series {fields['SeriesNumber']}" if fields.get("SeriesNumber") else "",
                                   fields.get("SeriesDescription", "")) if p)
    return [line for line in (f"Patient: {patient}" if patient else "", f"Study: {study}" if study else "",
                              f"Series: {series}" if series else "") if line]
