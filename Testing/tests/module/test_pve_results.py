"""The PVE panel's logic through real MRML (slicer-core), against a worked example computed by hand.

Before and after PVE: the same liver of 2000 mL (1 mL voxels, no CRLM), FLR 400 mL then 500 mL, 4 weeks apart;
height 170 cm, weight 70 kg.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd
from FLRSegmentationLib.volumetry.flr_assessment import AssessmentOptions
from FLRSegmentationModuleLib.pve_results import pve_follow_up, pve_table
from mrml_volumetry import table_values

BSA = math.sqrt(170 * 70 / 3600)  # Mosteller: 1.8181 m^2
ESTIMATED_TLV = -794.41 + 1267.28 * BSA  # Vauthey: 1509.66 mL
SFLR_BEFORE, SFLR_AFTER = 100 * 400 / ESTIMATED_TLV, 100 * 500 / ESTIMATED_TLV  # 26.50 %, 33.12 %
OPTIONS = AssessmentOptions(170, 70)


@pytest.fixture
def study(tmp_path, read_with_slicer):
    """A segmentation node with a 2000 mL liver whose first flr_slices of 20 slices (100 mL each) are FLR."""

    def make(name: str, flr_slices: int):
        liver = np.ones((20, 10, 10), bool)
        flr = np.zeros_like(liver)
        flr[:flr_slices] = True
        grid = sitk.Image([10, 10, 20], sitk.sitkUInt8)
        grid.SetSpacing((10.0, 10.0, 10.0))
        path = tmp_path / f"{name}.seg.nrrd"
        write_seg_nrrd(path, {"liver": liver, "crlm": np.zeros_like(liver), "flr": flr}, grid)
        return read_with_slicer(path)

    return make


def test_growth_matches_the_hand_computed_example(scene, study):
    table = pve_table(scene)
    result = pve_follow_up(study("before", 4), study("after", 5), 4.0, OPTIONS, table)
    dh = SFLR_AFTER - SFLR_BEFORE  # 6.624 percentage points
    assert result["before"]["sflr_percent"] == pytest.approx(SFLR_BEFORE, abs=1e-3)
    assert result["degree_of_hypertrophy_points"] == pytest.approx(dh, abs=2e-3)
    assert result["kinetic_growth_rate_percent_per_week"] == pytest.approx(dh / 4, abs=2e-3)  # 1.656 %/week
    assert "below 2 %/week" in result["kgr_warning"]
    values = table_values(table)
    assert values["sFLR before PVE"] == f"{SFLR_BEFORE:.2f}" and values["Weeks since PVE"] == "4.0"
    assert values["Kinetic growth rate (DH / weeks)"] == f"{dh / 4:.1f}"
    assert pve_table(scene) is table  # one table for the panel


def test_fast_growth_has_no_warning(scene, study):
    result = pve_follow_up(study("before", 4), study("after", 5), 2.0, OPTIONS, pve_table(scene))
    assert result["kinetic_growth_rate_percent_per_week"] > 2 and result["kgr_warning"] is None


@pytest.mark.parametrize("case, message", [
    ("missing", "Choose the segmentations before and after PVE"),
    ("same", "two different segmentations"),
    ("no body size", "needs height and weight"),
    ("zero weeks", "weeks since PVE must be more than 0"),
    ("no FLR after", "the segmentation after PVE has no FLR to compare"),
])
def test_bad_inputs_leave_the_table_as_it_was(scene, study, case, message):
    before, after = study("before", 4), study("after", 5 if case != "no FLR after" else 0)
    table = pve_table(scene)
    arguments = {"missing": (before, None, 4.0, OPTIONS), "same": (before, before, 4.0, OPTIONS),
                 "no body size": (before, after, 4.0, AssessmentOptions()),
                 "zero weeks": (before, after, 0.0, OPTIONS), "no FLR after": (before, after, 4.0, OPTIONS)}[case]
    with pytest.raises(InputError, match=message):
        pve_follow_up(*arguments, table)
    assert table.GetTable() is None or table.GetTable().GetNumberOfRows() == 0
