"""Body surface area (BSA) and the total liver volume it predicts: the denominator of the standardised FLR.

sFLR divides the FLR by the liver volume expected for the patient's size instead of the measured liver, so that a
liver enlarged by tumour or changed by chemotherapy does not distort the ratio (docs/CLINICAL.md section 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InputError

# Adult human range, inclusive. Its smallest corner (100 cm, 20 kg) gives a BSA of about 0.72 m^2 by either formula,
# above the 0.627 m^2 where Vauthey's estimated TLV reaches 0, so sFLR never divides by zero or a negative volume.
HEIGHT_RANGE_CM = (100.0, 250.0)
WEIGHT_RANGE_KG = (20.0, 350.0)

# PMC6422720 Table 1 credits this formula to a Vauthey et al. paper other than Surgery 2000 (which used Urata's
# formula); the Liver Transpl 2002 paper itself could not be opened to check its citation or the .41 decimals.
ESTIMATED_TLV_REFERENCE = ("Vauthey JN et al., Liver Transpl 2002;8:233-240 (not checked against the paper; "
                           "PMC6422720 Table 1 gives -794 + 1267.28 x BSA): estimated TLV (mL) = "
                           "-794.41 + 1267.28 x BSA (m^2)")


@dataclass(frozen=True)
class BsaFormula:
    name: str
    formula: str
    reference: str

    def bsa_m2(self, height_cm: float, weight_kg: float) -> float:
        if self.name == "mosteller":
            return math.sqrt(height_cm * weight_kg / 3600.0)
        return 0.007184 * height_cm ** 0.725 * weight_kg ** 0.425


BSA_FORMULAS = {
    "mosteller": BsaFormula("mosteller", "sqrt(height_cm x weight_kg / 3600)",
                            "Mosteller RD, Simplified calculation of body-surface area, N Engl J Med 1987;317:1098"),
    "dubois": BsaFormula("dubois", "0.007184 x height_cm^0.725 x weight_kg^0.425",
                         "DuBois D, DuBois EF, A formula to estimate the approximate surface area if height and "
                         "weight be known, Arch Intern Med 1916;17:863-871"),
}


def estimated_tlv_ml(bsa_m2: float) -> float:
    """Vauthey's estimated total liver volume for a Western adult of this body surface area."""
    return -794.41 + 1267.28 * bsa_m2


@dataclass(frozen=True)
class BodySize:
    """Height and weight, checked against the human range on creation, and what follows from them."""

    height_cm: float
    weight_kg: float
    bsa_formula: str = "mosteller"

    def __post_init__(self):
        _check_range("height", self.height_cm, HEIGHT_RANGE_CM, "cm")
        _check_range("weight", self.weight_kg, WEIGHT_RANGE_KG, "kg")
        if self.bsa_formula not in BSA_FORMULAS:
            raise InputError(f"BSA formula '{self.bsa_formula}' is unknown; use one of {', '.join(BSA_FORMULAS)}")

    @property
    def formula(self) -> BsaFormula:
        return BSA_FORMULAS[self.bsa_formula]

    @property
    def bsa_m2(self) -> float:
        return self.formula.bsa_m2(self.height_cm, self.weight_kg)

    @property
    def estimated_tlv_ml(self) -> float:
        return estimated_tlv_ml(self.bsa_m2)


def body_size_from(height_cm: float | None, weight_kg: float | None, bsa_formula: str = "mosteller") -> BodySize | None:
    """A BodySize from both values, None from neither; one without the other is an error (sFLR needs both)."""
    if height_cm is None and weight_kg is None:
        return None
    if height_cm is None or weight_kg is None:
        missing = "height" if height_cm is None else "weight"
        raise InputError(f"give both height and weight for the standardised FLR, or neither; the {missing} is missing")
    return BodySize(float(height_cm), float(weight_kg), bsa_formula)


def _check_range(name: str, value: float, bounds: tuple[float, float], unit: str) -> None:
    low, high = bounds
    if not low <= value <= high:  # also refuses NaN
        raise InputError(f"{name} {value:g} {unit} is outside the adult human range {low:g}-{high:g} {unit}")
