"""Write the CT volume node to a file the engine reads, with its exact geometry (no transform hardened)."""

from __future__ import annotations

from pathlib import Path

import slicer

from FLRSegmentationLib.errors import InputError


def write_volume(volume_node, folder: Path) -> Path:
    """Write `volume_node` as `<folder>/volume.nrrd` with Slicer's own writer; the engine names outputs after it."""
    if volume_node is None or volume_node.GetImageData() is None:
        raise InputError("Select a CT volume that holds image data")
    if volume_node.GetImageData().GetNumberOfScalarComponents() != 1:
        raise InputError(f"'{volume_node.GetName()}' is a colour or vector image; select a CT volume")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "volume.nrrd"
    storage = slicer.vtkMRMLVolumeArchetypeStorageNode()
    storage.SetFileName(str(path))
    storage.SetUseCompression(0)  # written once, read once: compression only costs time
    if not storage.WriteData(volume_node):
        raise InputError(f"Could not write '{volume_node.GetName()}' to the temporary folder {folder}")
    return path
