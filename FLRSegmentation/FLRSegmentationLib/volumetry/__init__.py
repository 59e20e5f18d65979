"""Volumes and what they mean: measuring segmentations, BSA, estimated TLV, FLR thresholds and verdicts, PVE growth,
the report rows and their exports. Imports `imaging`, `vocabulary` and `errors`; never `inference` or above.
"""
