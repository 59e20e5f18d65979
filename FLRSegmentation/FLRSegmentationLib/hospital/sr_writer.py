"""The volumetry as a DICOM Structured Report (TID 1500 Measurement Report, Comprehensive 3D SR, via highdicom).

One measurement group per segment of our SEG (TID 1411, referencing that segment and its tracking UID): the
volumes, the FLR as a percentage of the functional liver, the standardised FLR when the body size was given, and
the verdicts as codes. The safety warnings (the demo model's NOT FOR CLINICAL USE first) and the threshold rule are
TEXT items of TID 1500's Qualitative Evaluations container, so a PACS viewer shows them with the numbers.
Concepts with no standard code (FLR percentage, verdicts) use our private scheme 99FLRSEG, as the SEG does.
"""

from __future__ import annotations

import pydicom

from .. import __version__
from ..vocabulary.segments import SEGMENTS
from .seg_writer import MANUFACTURER, SR_SERIES_NUMBER, ModelIdentity, character_set, coded, highdicom_quiet

PRIVATE_SCHEME = "99FLRSEG"


def private(value: str, meaning: str):
    from pydicom.sr.coding import Code

    return Code(value, PRIVATE_SCHEME, meaning)


def ucum(value: str, meaning: str):
    from pydicom.sr.coding import Code

    return Code(value, "UCUM", meaning)


# per segment key: (report key, concept code, private concept meaning; None for SNOMED CT Volume) of each measurement
MEASUREMENTS = {
    "liver": (("liver_ml", "VOLUME", None), ("functional_liver_ml", "FUNCTIONAL_ML", "Functional liver volume")),
    "crlm": (("crlm_ml", "VOLUME", None), ("crlm_count", "CRLM_COUNT", "Number of metastases")),
    "flr": (("flr_ml", "VOLUME", None), ("flr_percent", "FLR_PERCENT", "FLR percent of functional liver"),
            ("sflr_percent", "SFLR_PERCENT", "Standardized FLR percent of estimated total liver volume")),
}
UNITS = {"VOLUME": ("ml", "milliliter"), "FUNCTIONAL_ML": ("ml", "milliliter"), "CRLM_COUNT": ("1", "no units"),
         "FLR_PERCENT": ("%", "Percent"), "SFLR_PERCENT": ("%", "Percent")}
VERDICTS = (("verdict", "FLR_VERDICT", "FLR verdict"), ("sflr_verdict", "SFLR_VERDICT", "Standardized FLR verdict"))
WARNING = ("WARNING", "Safety warning")
THRESHOLD_RULE = ("THRESHOLD_RULE", "FLR threshold rule")


def measurement_concept(code: str, meaning: str | None):
    from pydicom.sr.codedict import codes

    return codes.SCT.Volume if code == "VOLUME" else private(code, meaning)


def segment_group(seg, number: int, segment, report: dict, model: ModelIdentity):
    import highdicom as hd

    measurements = [hd.sr.Measurement(name=measurement_concept(code, meaning), value=float(report[key]),
                                      unit=ucum(*UNITS[code]))
                    for key, code, meaning in MEASUREMENTS[segment.key] if report.get(key) is not None]
    evaluations = [hd.sr.QualitativeEvaluation(private(code, meaning), private(report[key].upper().replace(" ", "_"),
                                                                               report[key]))
                   for key, code, meaning in VERDICTS if segment.key == "flr" and report.get(key)]
    description = seg.SegmentSequence[number - 1]
    return hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=description.TrackingUID, identifier=segment.name),
        referenced_segment=hd.sr.ReferencedSegment.from_segmentation(seg, segment_number=number),
        finding_type=coded(segment.type), finding_category=coded(segment.category),
        algorithm_id=hd.sr.AlgorithmIdentification(name=model.title[:64], version=model.version),
        measurements=measurements, qualitative_evaluations=evaluations or None)


def text_evaluations(report: dict):
    """TID 1500's Qualitative Evaluations container: the warnings and the threshold rule as TEXT."""
    import highdicom as hd
    from pydicom.sr.coding import Code

    contains = hd.sr.RelationshipTypeValues.CONTAINS
    texts = [(WARNING, warning["message"] if isinstance(warning, dict) else str(warning))  # {code, message}
             for warning in report.get("warnings", [])]
    if report.get("threshold_rule"):
        texts.append((THRESHOLD_RULE, report["threshold_rule"]))
    container = hd.sr.ContainerContentItem(name=Code("C0034375", "UMLS", "Qualitative Evaluations"),
                                           relationship_type=contains)
    container.ContentSequence = hd.sr.ContentSequence(
        [hd.sr.TextContentItem(name=private(*concept), value=text[:1024], relationship_type=contains)
         for concept, text in texts])
    return container


def build_sr(sources: list[pydicom.Dataset], seg, report: dict):
    """The Comprehensive 3D SR dataset of `report`, referencing `seg`'s segments and the CT."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    model = ModelIdentity.of_report(report)
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=hd.UID(), name="flrseg", manufacturer_name=MANUFACTURER, model_name=f"flrseg {model.id}"[:64]))
    groups = [segment_group(seg, number, segment, report, model) for number, segment in enumerate(SEGMENTS, start=1)]
    with highdicom_quiet():
        content = hd.sr.MeasurementReport(
            observation_context=hd.sr.ObservationContext(observer_device_context=observer),
            procedure_reported=codes.SCT.ComputedTomography, imaging_measurements=groups)
        content[0].ContentSequence.append(text_evaluations(report))
        return hd.sr.Comprehensive3DSR(
            evidence=[*sources, seg], content=content[0], series_instance_uid=hd.UID(),
            series_number=SR_SERIES_NUMBER, sop_instance_uid=hd.UID(), instance_number=1, manufacturer=MANUFACTURER,
            is_complete=True, series_description=model.series_description("volumetry report")[:64],
            specific_character_set=character_set(sources[0]), software_versions=f"flrseg {__version__}")
