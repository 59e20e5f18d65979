"""Cohort runs on Dask distributed: one task per case on worker processes that each open the model once, and
evaluation spread over them. Imports `research`, `inference` and below; only `cli` imports it.
"""

try:
    import distributed  # noqa: F401  (the optional 'cluster' extra)
except ImportError:
    from ..errors import InputError

    raise InputError("--cluster needs Dask distributed, which is not installed: pip install "
                     "'dask[distributed]==2026.8.0' (bash setup.sh installs it)") from None
