"""A ctkPathLineEdit that reports a path once the user has settled on it, never once per keystroke.

ctkPathLineEdit emits currentPathChanged on every accepted text change (CTK's ctkPathLineEdit.cpp, at the commit
Slicer 5.10 builds: textChanged -> updateHasValidInput -> currentPathChanged), so acting on it opens every prefix
of a typed path. This binds to the field's line edit's editingFinished (Enter, or leaving the field) and to a
browse button of our own, whose result is final; the field's own browse button is hidden in the .ui.
"""

from __future__ import annotations

from typing import Callable


class PathBinding:
    def __init__(self, pathLineEdit, browseButton, onPathChosen: Callable[[str], None]):
        self.pathLineEdit, self.onPathChosen = pathLineEdit, onPathChosen
        self.chosen = pathLineEdit.currentPath
        pathLineEdit.comboBox().lineEdit().editingFinished.connect(self.choose)
        browseButton.clicked.connect(self.browse)

    def browse(self) -> None:
        self.pathLineEdit.browse()  # a modal file dialog: the field then holds the pick, unchanged on Cancel
        self.choose()

    def choose(self) -> None:
        """Report the field's path if it differs from the last one reported or shown."""
        path = self.pathLineEdit.currentPath
        if path != self.chosen:
            self.chosen = path
            self.onPathChosen(path)

    def show(self, path: str) -> None:
        """Put a path in the field without reporting it (e.g. back to the open dataset when the user cancels)."""
        self.chosen = path
        self.pathLineEdit.currentPath = path
