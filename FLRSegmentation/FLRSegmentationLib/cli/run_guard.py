"""One guard per `flrseg` run: a private temporary folder for everything the run creates, and one idempotent
handler for SIGINT and SIGTERM.

Every temporary file of the run (unpacked models, staging, stage files, torch's inductor and triton caches) goes
into one folder (mode 0700) that TMPDIR and tempfile point at, so removing that folder removes everything the run
left, however it ended. The first signal cancels the run (exit 130 or 143); any further signal, however many
arrive and whenever (during the cleanup, or at interpreter exit), is only recorded, so a burst never interrupts
the cleanup and never ends in a traceback.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile

SIGNALS = (signal.SIGINT, signal.SIGTERM)
CACHE_VARIABLES = {"TORCHINDUCTOR_CACHE_DIR": "torchinductor", "TRITON_CACHE_DIR": "triton",
                   "CUDA_CACHE_PATH": "cuda-cache"}  # not matplotlib: its font cache must persist, or every run prints a line


class Cancelled(BaseException):
    """Raised once, by the first signal; a BaseException so that no `except Exception` swallows it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.exit_code = 128 + signum


class RunGuard:
    """with RunGuard() as guard: ... ; guard.cancelled_code is 130/143 once a signal arrived, else None."""

    def __init__(self):
        self.signum: int | None = None
        self.folder: str | None = None
        self._saved_env: dict[str, str | None] = {}
        self._saved_tempdir = None
        self._saved_handlers: dict[int, object] = {}

    @property
    def cancelled_code(self) -> int | None:
        return None if self.signum is None else 128 + self.signum

    def _on_signal(self, signum, frame):
        if self.signum is not None:
            return  # already cancelling: a burst must not interrupt the cleanup
        self.signum = signum
        raise Cancelled(signum)

    def _record_only(self, signum, frame):
        if self.signum is None:
            self.signum = signum

    def __enter__(self) -> "RunGuard":
        self._saved_handlers = {s: signal.signal(s, self._on_signal) for s in SIGNALS}
        self.folder = tempfile.mkdtemp(prefix="flrseg-run-")  # mode 0700
        self._saved_tempdir = tempfile.tempdir
        wanted = {"TMPDIR": self.folder}
        wanted.update({name: os.path.join(self.folder, sub) for name, sub in CACHE_VARIABLES.items()
                       if name not in os.environ})
        for name, value in wanted.items():
            self._saved_env[name] = os.environ.get(name)
            os.environ[name] = value
        tempfile.tempdir = self.folder
        return self

    def __exit__(self, *exc) -> None:
        try:
            for s in SIGNALS:
                signal.signal(s, self._record_only)  # from here on nothing may interrupt the cleanup
        finally:
            tempfile.tempdir = self._saved_tempdir
            for name, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            shutil.rmtree(self.folder, ignore_errors=True)

    def ignore_signals(self) -> None:
        """For a process about to exit: SIG_IGN survives the interpreter's shutdown, a Python handler does not."""
        for s in SIGNALS:
            signal.signal(s, signal.SIG_IGN)

    def restore_handlers(self) -> None:
        """Give the process's handlers back (for callers that go on after the run, like tests)."""
        for s, handler in self._saved_handlers.items():
            signal.signal(s, handler)
