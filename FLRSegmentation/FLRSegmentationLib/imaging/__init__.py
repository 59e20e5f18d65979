"""Images on disk and their grids: the input CT, DICOM series and SEG, Slicer `.seg.nrrd`, atomic file replacement.

Imports only `vocabulary` and `errors`; every layer above may import it.
"""
