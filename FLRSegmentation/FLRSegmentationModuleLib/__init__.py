"""Slicer-side logic of the FLR Segmentation module: MRML, processes, models, dependencies; no Qt at import.

Importable with slicer-core alone: it may import FLRSegmentationLib (never its cli), never qt, ctk or `widgets`.
"""
