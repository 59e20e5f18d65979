"""The PVE panel's logic: two segmentation nodes (before and after portal vein embolisation) and the interval
give the degree of hypertrophy and the kinetic growth rate, in a table node beside the FLR volumetry.

The same measurement (volumetry_table), assessment and growth formulas (the engine's pve_result) and rows as
`flrseg pve`, so the panel and the command can't disagree.
"""

from __future__ import annotations

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.volumetry.flr_assessment import AssessmentOptions, assess
from FLRSegmentationLib.volumetry.pve_follow_up import check_weeks, pve_result
from FLRSegmentationLib.volumetry.rows import pve_rows

from .singleton_nodes import singleton_node
from .volumetry_table import fill_table, measure_segmentation_node

TABLE_SINGLETON = "FLRSegmentationPVE"


def pve_table(scene):
    """The panel's one table node, made on first use."""
    return singleton_node(scene, TABLE_SINGLETON, "vtkMRMLTableNode", "FLR growth after PVE")


def pve_follow_up(before_node, after_node, weeks: float, options: AssessmentOptions, table_node) -> dict:
    """Measure both studies, fill table_node with the growth rows and return the result (kgr_warning included).

    Every input is checked before anything is measured; the table is only replaced by a complete result.
    """
    if before_node is None or after_node is None:
        raise InputError("Choose the segmentations before and after PVE")
    if before_node is after_node:
        raise InputError("Choose two different segmentations: one before and one after PVE")
    if options.body_size is None:
        raise InputError("The PVE follow-up needs height and weight: hypertrophy and growth rate are defined on sFLR")
    check_weeks(weeks)
    result = pve_result(assess(measure_segmentation_node(before_node), options),
                        assess(measure_segmentation_node(after_node), options), weeks)
    fill_table(table_node, pve_rows(result))
    return result
