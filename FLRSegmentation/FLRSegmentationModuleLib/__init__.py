"""Slicer-side logic of the FLR Segmentation module: MRML, processes, models, dependencies; no Qt at import."""
