"""Write an edited segmentation node as a `.seg.nrrd` with Slicer's own writer, all at once or not at all.

Slicer's writer keeps what the engine's file had and the edits added: overlapping segments (FLR inside Liver) in
separate layers, names, colours, terminology, and the segments' tags, which carry the model that made them
(segmentation_loader.record_model). A labelmap export would merge the overlaps, so it is not used.
"""

from __future__ import annotations

from pathlib import Path

import slicer

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.imaging.atomic_files import replace_atomically

SUFFIX = ".seg.nrrd"


def write_segmentation(node, path: Path) -> None:
    """Replace `path` (ending in .seg.nrrd) with the node's segments; InputError, one line, if it can't be written."""
    path = Path(path)
    if not path.name.endswith(SUFFIX):
        raise InputError(f"{path.name}: a segmentation is saved as a {SUFFIX} file; add the extension")

    def write(staged: Path) -> None:
        storage = slicer.vtkMRMLSegmentationStorageNode()
        storage.SetFileName(str(staged))
        if not storage.WriteData(node):
            raise InputError(f"can't write the segmentation to {path}; choose another folder")

    try:
        replace_atomically(path, write)
    except OSError as error:
        raise InputError(f"can't write {path}: {error.strerror or error}; choose another folder") from None
