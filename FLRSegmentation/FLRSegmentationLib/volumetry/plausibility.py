"""Warnings for a measurement that is possible but unlikely, so the reader looks at the segmentation again.

The verdict is kept: each rule flags, it does not judge (docs/CLINICAL.md section 9).
- Adult liver volume outside 1505 +/- 3 x 385 mL: mean and SD of the liver volume of 2773 adults of the Study of
  Health in Pomerania (MRI), Eur J Radiol 2018;106:32-37, doi:10.1016/j.ejrad.2018.07.005 (abstract; the authors'
  names were not checked). Three SD leave out few livers of a healthy adult; a tumour-laden one may be larger.
- CRLM over half the liver: a tumour burden that is rare in resection candidates and a common sign of a CRLM
  stage that took in parenchyma.
- FLR segment (as drawn) larger than the functional liver: the FLR must be a part of it; what lies outside the
  liver or in CRLM is not counted, so a large excess means the FLR or the liver segment is wrong.
- Several liver components of similar size (the second at least half the largest): the liver is one organ; a
  second large piece is often the spleen or a liver split by a bad edit.
"""

from __future__ import annotations

from .result_warnings import (CRLM_OVER_HALF_LIVER, FLR_LARGER_THAN_FUNCTIONAL_LIVER, LIVER_COMPONENTS_OF_SIMILAR_SIZE,
                              LIVER_VOLUME_IMPLAUSIBLE, warning)

LIVER_VOLUME_MEAN_ML, LIVER_VOLUME_SD_ML = 1505.0, 385.0
LIVER_VOLUME_RANGE_ML = (LIVER_VOLUME_MEAN_ML - 3 * LIVER_VOLUME_SD_ML, LIVER_VOLUME_MEAN_ML + 3 * LIVER_VOLUME_SD_ML)
LIVER_VOLUME_REFERENCE = ("Adult liver volume 1505 +/- 385 mL (mean +/- SD, 2773 adults, Study of Health in "
                          "Pomerania, MRI): Eur J Radiol 2018;106:32-37, doi:10.1016/j.ejrad.2018.07.005 (abstract; "
                          "authors not checked); plausible range mean +/- 3 SD")
CRLM_FRACTION_LIMIT = 0.5
SIMILAR_COMPONENT_FRACTION = 0.5


def plausibility_warnings(volumes: dict) -> list[dict]:
    """The rules above on a measurement (segmentation_volumes.measure_volumes' fields); [] when all hold."""
    liver = volumes["liver_ml"]
    found = []
    low, high = LIVER_VOLUME_RANGE_ML
    if liver > 0 and not low <= liver <= high:
        found.append(warning(LIVER_VOLUME_IMPLAUSIBLE, f"the liver measures {liver:.0f} mL, outside the adult range "
                             f"{low:.0f}-{high:.0f} mL (mean +/- 3 SD of 2773 adults, Eur J Radiol 2018;106:32-37); "
                             "check the Liver segment"))
    if liver > 0 and volumes["crlm_ml"] > CRLM_FRACTION_LIMIT * liver:
        found.append(warning(CRLM_OVER_HALF_LIVER, f"the CRLM are {100 * volumes['crlm_ml'] / liver:.0f} % of the "
                             "liver (over half); check the CRLM segment"))
    drawn = volumes.get("flr_segment_ml")
    if drawn is not None and liver > 0 and drawn > volumes["functional_liver_ml"]:
        found.append(warning(FLR_LARGER_THAN_FUNCTIONAL_LIVER, f"the FLR segment ({drawn:.0f} mL) is larger than "
                             f"the functional liver ({volumes['functional_liver_ml']:.0f} mL); only its part inside "
                             "the liver and outside the CRLM is counted: check the FLR and Liver segments"))
    components = volumes.get("liver_components_ml") or []
    if len(components) > 1 and components[1] >= SIMILAR_COMPONENT_FRACTION * components[0]:
        found.append(warning(LIVER_COMPONENTS_OF_SIMILAR_SIZE, f"the Liver segment has separate pieces of similar "
                             f"size ({', '.join(f'{c:.0f}' for c in components)} mL); the liver is one organ: check "
                             "that another organ was not taken for liver"))
    return found
