"""A combo box that shows titles and stores values in one parameter node field (model, strategy, device...).

The parameter node wrapper's own combo box binding shows raw values; the module shows readable titles
("Auto (GPU if available)") and keeps the value ("auto") in the node. Works on the combo box it is given, so it
needs no Qt import.
"""

from __future__ import annotations

from typing import Callable


class ComboBinding:
    def __init__(self, combo, name: str, titles: dict, parameterNode: Callable):
        self.combo, self.name, self.parameterNode = combo, name, parameterNode
        self.setChoices(titles)
        combo.currentIndexChanged.connect(self.onChanged)

    def setChoices(self, titles: dict) -> None:
        """Replace the items (value -> title) without writing to the parameter node."""
        wasBlocked = self.combo.blockSignals(True)
        self.combo.clear()
        for value, title in titles.items():
            self.combo.addItem(title, value)
        self.combo.blockSignals(wasBlocked)

    def onChanged(self, index: int) -> None:
        params = self.parameterNode()
        if params is not None and index >= 0:
            setattr(params, self.name, self.combo.currentData)

    def show(self, params) -> None:
        """Select the parameter node's value (no item selected when it is not among the choices)."""
        wasBlocked = self.combo.blockSignals(True)
        self.combo.setCurrentIndex(self.combo.findData(getattr(params, self.name)))
        self.combo.blockSignals(wasBlocked)
