"""The three segments we write, in display order, with the colours and codes Slicer shows for them.

The table is data, not code, so the segmentation writer, the Slicer module and the terminology file
(Resources/Terminology/FLRSegmentation-terminology.term.json, checked against this table by the tests) can't
disagree about a name, a colour or a code.

Codes: Liver and CRLM use SNOMED CT; "future liver remnant" has no standard code, so it gets a private one
(DICOM PS3.16: private coding scheme designators start with "99"). All three are listed in our own terminology
context, so Slicer finds them together once the extension has loaded that file; Slicer matches entries by
coding scheme and code value, so files stay readable where only the standard contexts are loaded (the codes:
docs/CLINICAL.md section 7).
"""

from __future__ import annotations

from dataclasses import dataclass

TERMINOLOGY_CONTEXT = "Segmentation category and type - FLR Segmentation"
# Slicer's default region context; it names where the region code (if any) is looked up.
REGION_CONTEXT = "Anatomic codes - DICOM master list"


@dataclass(frozen=True)
class Code:
    """A coded concept (DICOM code sequence triplet)."""

    scheme: str  # coding scheme designator, e.g. "SCT"
    value: str
    meaning: str

    def serialized(self) -> str:
        """Slicer's `scheme^value^meaning` form."""
        return f"{self.scheme}^{self.value}^{self.meaning}"


@dataclass(frozen=True)
class Segment:
    """One segment as Slicer shows it: name, colour and terminology (category, type, optional region)."""

    key: str  # engine key: the mask dictionaries and the segment ID in written files
    name: str  # segment name shown in Slicer
    color: tuple[float, float, float]  # RGB 0-1; k/255 values so the terminology file can hold them exactly
    category: Code
    type: Code
    region: Code | None = None  # anatomic region, for findings such as a metastasis "in the liver"

    @property
    def terminology_entry(self) -> str:
        """The value Slicer stores under the segment tag "TerminologyEntry" (vtkSegment.GetTerminologyEntryTagName()).

        Same layout as vtkSlicerTerminologiesModuleLogic.SerializeTerminologyEntry: context, category, type,
        type modifier, region context, region, region modifier, joined by "~"; an absent code is "^^".
        """
        empty = "^^"
        region = self.region.serialized() if self.region else empty
        return "~".join((TERMINOLOGY_CONTEXT, self.category.serialized(), self.type.serialized(), empty,
                         REGION_CONTEXT, region, empty))


ANATOMICAL_STRUCTURE = Code("SCT", "123037004", "Anatomical Structure")
MORPHOLOGICALLY_ALTERED_STRUCTURE = Code("SCT", "49755003", "Morphologically Altered Structure")
LIVER = Code("SCT", "10200004", "Liver")

SEGMENTS: tuple[Segment, ...] = (
    Segment("liver", "Liver", (221 / 255, 130 / 255, 101 / 255),  # Slicer's liver colour
            ANATOMICAL_STRUCTURE, LIVER),
    Segment("crlm", "CRLM", (255 / 255, 215 / 255, 0 / 255),  # yellow: stands out inside the liver
            MORPHOLOGICALLY_ALTERED_STRUCTURE, Code("SCT", "14799000", "Neoplasm, metastatic"), region=LIVER),
    Segment("flr", "FLR", (40 / 255, 180 / 255, 99 / 255),  # green: the part that stays
            ANATOMICAL_STRUCTURE, Code("99FLRSEG", "FLR", "Future liver remnant")),
)
# The liver a resection plan removes (`flrseg resect`); not one of the segments a segmentation must have.
RESECTED = Segment("resected", "Resected", (150 / 255, 150 / 255, 160 / 255),  # grey: the part that goes
                   ANATOMICAL_STRUCTURE, Code("99FLRSEG", "RESECTED", "Resected liver"))
SEGMENTS_BY_KEY = {s.key: s for s in SEGMENTS + (RESECTED,)}  # every segment a written file may hold, in order
