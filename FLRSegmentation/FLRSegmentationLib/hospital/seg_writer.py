"""The segmentation as a DICOM Segmentation object (highdicom): what a PACS stores next to the CT.

BINARY, one segment each for Liver, CRLM and FLR (overlapping as in the anatomy, the liver contains the others),
coded with the module's terminology table so Slicer, OHIF and the SR name them alike. Algorithm type AUTOMATIC
with the model's name and version; the frames sit on the source CT's frame of reference and grid and reference
each source instance. A demo model's object says NOT FOR CLINICAL USE in its series description.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pydicom

from .. import __version__
from ..vocabulary.labels import split_label_map
from ..vocabulary.segments import SEGMENTS, Code as TermCode

MANUFACTURER = "FLR Segmentation"
SEG_SERIES_NUMBER = 9701  # high numbers keep derived series after the acquired ones in a viewer's list
SR_SERIES_NUMBER = 9702
DEMO_MARK = "NOT FOR CLINICAL USE"


@dataclass(frozen=True)
class ModelIdentity:
    """The model as the report names it: what the DICOM objects' algorithm and equipment fields say."""

    id: str
    title: str
    version: str
    demo: bool

    @classmethod
    def of_report(cls, report: dict) -> "ModelIdentity":
        model = report["model"]
        return cls(str(model["id"]), str(model["title"]), str(model["version"]), bool(model["demo"]))

    def series_description(self, what: str) -> str:
        text = f"FLR {what} ({self.id} {self.version})"
        return f"{text} {DEMO_MARK}" if self.demo else text


def coded(code: TermCode):
    from pydicom.sr.coding import Code

    return Code(code.value, code.scheme, code.meaning)


def segment_descriptions(model: ModelIdentity) -> list:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    algorithm = hd.AlgorithmIdentificationSequence(name=model.title[:64], version=model.version,
                                                   family=codes.cid7162.ArtificialIntelligence)
    return [hd.seg.SegmentDescription(
        segment_number=number, segment_label=segment.name, segmented_property_category=coded(segment.category),
        segmented_property_type=coded(segment.type), algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=algorithm, tracking_uid=hd.UID(), tracking_id=segment.name,
        anatomic_regions=[coded(segment.region)] if segment.region else None)
        for number, segment in enumerate(SEGMENTS, start=1)]


def build_seg(sources: list[pydicom.Dataset], label_map: np.ndarray, model: ModelIdentity):
    """The Segmentation dataset: frame k of each segment lies on sources[k] (label_map is z, y, x)."""
    import highdicom as hd

    masks = split_label_map(label_map)
    pixels = np.stack([masks[segment.key] for segment in SEGMENTS], axis=-1).astype(np.uint8)
    with highdicom_quiet():
        return hd.seg.Segmentation(
            source_images=sources, pixel_array=pixels, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=segment_descriptions(model), series_instance_uid=hd.UID(),
            series_number=SEG_SERIES_NUMBER, sop_instance_uid=hd.UID(), instance_number=1,
            manufacturer=MANUFACTURER, manufacturer_model_name=f"flrseg {model.id}"[:64],
            software_versions=f"flrseg {__version__}", device_serial_number=model.version[:64],
            series_description=model.series_description("segmentation")[:64], content_label="FLRSEG",
            content_description="Liver, CRLM and FLR", omit_empty_frames=False,
            specific_character_set=character_set(sources[0]))


def character_set(source: pydicom.Dataset) -> str:
    """The source's character set (patient names are copied from it), ISO_IR 100 where the CT leaves it empty."""
    return source.get("SpecificCharacterSet") or "ISO_IR 100"


@contextmanager
def highdicom_quiet():
    """highdicom warns about what it copies from the CT (a patient name of one component): not ours to fix."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="highdicom")
        yield
