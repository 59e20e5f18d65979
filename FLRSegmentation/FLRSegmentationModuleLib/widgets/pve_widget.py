"""The module's PVE section: segmentations before and after portal vein embolisation and the interval in, degree
of hypertrophy and kinetic growth rate out (with the warning below 2 %/week). GUI only: see pve_results."""

from __future__ import annotations

import slicer

from FLRSegmentationLib.errors import FLRSegError

from ..pve_results import pve_follow_up, pve_table


class PveSection:
    def __init__(self, ui, logic, parameterNode):
        self.ui, self.logic, self.parameterNode = ui, logic, parameterNode
        ui.pveComputeButton.clicked.connect(self.onCompute)

    def updateGUI(self, params) -> None:
        self.ui.pveComputeButton.enabled = bool(params.pveBefore and params.pveAfter)

    def onCompute(self) -> None:
        params = self.parameterNode()
        table = pve_table(slicer.mrmlScene)
        try:
            with slicer.util.WaitCursor():
                result = pve_follow_up(params.pveBefore, params.pveAfter, params.pveWeeks,
                                       self.logic.patientValues(params).options(), table)
        except FLRSegError as error:
            self.ui.pveStatusLabel.text = str(error)
            return
        self.ui.pveTableView.setMRMLTableNode(table)
        self.ui.pveStatusLabel.text = f"Warning: {result['kgr_warning']}" if result["kgr_warning"] else \
            "Kinetic growth rate at or above 2 %/week."
