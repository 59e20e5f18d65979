"""The module's model manager section: list, download in the background (with Cancel), install, remove.

GUI only: the work is ModelManager's (verification, installation) and BackgroundDownload's (the transfer in a
worker thread); a GUI timer shows the download's progress, so Slicer stays responsive.
"""

from __future__ import annotations

from pathlib import Path

import qt
import slicer

from FLRSegmentationLib.errors import FLRSegError

from ..model_download import BackgroundDownload
from .path_binding import PathBinding

POLL_INTERVAL_MS = 200
HEADERS = ("Model", "Version", "Stages", "License", "Size", "State")


class ModelsSection:
    def __init__(self, ui, logic, onModelsChanged):
        self.ui, self.logic, self.onModelsChanged = ui, logic, onModelsChanged
        self.download: BackgroundDownload | None = None
        self.timer = qt.QTimer()
        self.timer.setInterval(POLL_INTERVAL_MS)
        self.timer.timeout.connect(self.onDownloadTimer)
        ui.modelsFolderPathLineEdit.currentPath = str(logic.models.models_folder)
        self.modelsFolder = PathBinding(ui.modelsFolderPathLineEdit, ui.modelsFolderBrowseButton,
                                        self.onModelsFolderChosen)
        ui.modelsTableWidget.itemSelectionChanged.connect(self.updateButtons)
        ui.downloadModelButton.clicked.connect(self.onDownloadModel)
        ui.cancelDownloadButton.clicked.connect(self.onCancelDownload)
        ui.installFromFileButton.clicked.connect(lambda: self.onInstallModel(folder=False))
        ui.installFromFolderButton.clicked.connect(lambda: self.onInstallModel(folder=True))
        ui.removeModelButton.clicked.connect(self.onRemoveModel)
        self.refresh()

    def refresh(self) -> None:
        try:
            models = self.logic.models.models()
        except FLRSegError as error:  # a damaged registry
            self.ui.modelDetailsLabel.text = str(error)
            models = []
        table = self.ui.modelsTableWidget
        table.setColumnCount(len(HEADERS))
        table.setHorizontalHeaderLabels(HEADERS)
        table.setRowCount(len(models))
        for row, info in enumerate(models):
            size = f"{info.size_bytes / 1e6:.1f} MB" if info.size_bytes else "?"
            state = "bundled" if info.bundled else "installed" if info.installed else "not installed"
            stages = "; ".join(f"{s}: {', '.join(n)}" for s, n in info.strategies.items())
            for column, text in enumerate((info.display_name(), info.version, stages, info.license, size, state)):
                item = qt.QTableWidgetItem(text)
                item.setData(qt.Qt.UserRole, info.id)
                table.setItem(row, column, item)
        table.resizeColumnsToContents()
        self.updateButtons()
        self.onModelsChanged(models)

    def selectedModel(self):
        items = self.ui.modelsTableWidget.selectedItems()
        return self.logic.models.model(items[0].data(qt.Qt.UserRole)) if items else None

    def updateButtons(self) -> None:
        info, idle = self.selectedModel(), self.download is None
        if info is not None and idle:
            self.ui.modelDetailsLabel.text = f"Citation: {info.citation or 'none given'}"
        self.ui.downloadModelButton.enabled = bool(idle and info and info.url)
        self.ui.removeModelButton.enabled = bool(idle and info and info.installed and not info.bundled)
        self.ui.installFromFileButton.enabled = self.ui.installFromFolderButton.enabled = idle
        self.ui.modelsFolderPathLineEdit.enabled = self.ui.modelsFolderBrowseButton.enabled = idle
        self.ui.cancelDownloadButton.enabled = not idle

    def onModelsFolderChosen(self, path: str) -> None:
        if not path.strip():  # an emptied field: keep the folder in use
            self.modelsFolder.show(str(self.logic.models.models_folder))
            return
        self.logic.set_models_folder(Path(path))
        self.refresh()

    def runModelAction(self, action, done: str) -> None:
        """Install and remove are short; a refused package is one line in the module."""
        try:
            with slicer.util.WaitCursor():
                action()
        except FLRSegError as error:
            self.ui.modelDetailsLabel.text = str(error)
            return
        self.refresh()
        self.ui.modelDetailsLabel.text = done

    def onDownloadModel(self) -> None:
        info = self.selectedModel()
        self.download = BackgroundDownload(self.logic.models, info.id)
        self.ui.downloadProgressBar.visible = True
        self.ui.modelDetailsLabel.text = f"Downloading {info.id}..."
        self.updateButtons()
        self.timer.start()

    def onDownloadTimer(self) -> None:
        download = self.download
        fraction = download.fraction
        self.ui.downloadProgressBar.maximum = 0 if fraction is None else 100  # 0: busy, size unknown
        self.ui.downloadProgressBar.value = int(100 * (fraction or 0))
        if not download.finished:
            return
        self.timer.stop()
        self.download = None
        self.ui.downloadProgressBar.visible = False
        self.refresh()
        self.ui.modelDetailsLabel.text = download.error or f"Downloaded and verified {download.model_id}"

    def onCancelDownload(self) -> None:
        if self.download is not None:
            with slicer.util.WaitCursor():
                self.download.cancel()
            self.onDownloadTimer()

    def onInstallModel(self, folder: bool) -> None:
        if folder:
            path = qt.QFileDialog.getExistingDirectory(None, "Model package folder")
        else:
            path = qt.QFileDialog.getOpenFileName(None, "Model package", "", "Model package (*.zip)")
        if path:
            self.runModelAction(lambda: self.logic.models.install(Path(path)), f"Installed and verified {path}")

    def onRemoveModel(self) -> None:
        info = self.selectedModel()
        if info and slicer.util.confirmOkCancelDisplay(f"Remove the model '{info.id}' from this computer?"):
            self.runModelAction(lambda: self.logic.models.remove(info.id), f"Removed {info.id}")

    def cancel(self) -> None:
        self.onCancelDownload()
