"""A model download in a worker thread, so Slicer stays responsive: progress for a GUI timer, and a Cancel.

The thread runs ModelManager.download, which checks the sha256 before installing and keeps the zip in a scratch
folder removed in every case; a cancel is seen between blocks of the transfer, so a cancelled or failed download
leaves nothing in the models folder. The GUI reads `progress`, `finished`, `result` and `error` from its timer.
"""

from __future__ import annotations

import threading

from FLRSegmentationLib.errors import FLRSegError

from .model_manager import ModelInfo, ModelManager

CANCEL_WAIT_SECONDS = 30.0  # a block read can wait on a slow server; the transfer times out after 60 s anyway


class BackgroundDownload:
    def __init__(self, manager: ModelManager, model_id: str):
        self.model_id = model_id
        self.progress: tuple[int, int | None] = (0, None)  # bytes done, bytes in all (None: the server did not say)
        self.result: ModelInfo | None = None
        self.error: str | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(manager,), name=f"download {model_id}", daemon=True)
        self._thread.start()

    def _run(self, manager: ModelManager) -> None:
        try:
            self.result = manager.download(self.model_id, self._report, self._cancel.is_set)
        except FLRSegError as error:
            self.error = str(error)
        except Exception as error:  # the worker must always end with a message for the GUI
            self.error = f"download of '{self.model_id}' failed ({type(error).__name__}: {error})"

    def _report(self, done: int, total: int | None) -> None:
        self.progress = (done, total)

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive()

    @property
    def fraction(self) -> float | None:
        done, total = self.progress
        return done / total if total else None

    def cancel(self) -> bool:
        """Ask the transfer to stop and wait for its clean-up; False if it is still winding down after the wait."""
        self._cancel.set()
        self._thread.join(CANCEL_WAIT_SECONDS)
        return self.finished

    def wait(self, timeout_s: float) -> bool:
        self._thread.join(timeout_s)
        return self.finished
