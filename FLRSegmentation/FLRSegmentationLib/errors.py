"""User-facing errors: one line that names what is wrong and how to fix it."""


class FLRSegError(Exception):
    """An error caused by the user's input or environment, reported without a traceback."""

    exit_code = 2


class InputError(FLRSegError):
    """The input image or folder can't be used."""


class ModelError(FLRSegError):
    """The model package is missing, damaged or does not fit the strategy."""


class DeviceError(FLRSegError):
    """The requested compute device is not available."""


class PacsError(FLRSegError):
    """The PACS can't be reached, refuses a request, or does not hold what was asked for."""
