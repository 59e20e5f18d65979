"""Bring a CT file or DICOM folder into the scene as a volume node that no save can write back into.

The input is checked with the engine's reader first (one-line errors, the one DICOM series reader), so what the
views show is what `flrseg segment` will accept. A file is then read by Slicer's own reader; a DICOM folder is
read by the engine and handed to Slicer as a NRRD in the caller's private folder, deleted once read. The storage
node is dropped after reading, as for the annotator's cases, so the node never points at the user's file.
"""

from __future__ import annotations

from pathlib import Path

import SimpleITK as sitk

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.imaging.ct_input import case_name, check_input, read_ct


def load_ct(scene, path: Path, private_dir: Path):
    """A new volume node named after the file (or DICOM folder) holding the CT at `path`."""
    path = Path(path)
    check_input(path)
    if not path.is_dir():
        return read_volume(scene, path, case_name(path))
    converted = Path(private_dir) / f"{case_name(path)}.nrrd"
    sitk.WriteImage(read_ct(path), str(converted), useCompression=False)
    try:
        return read_volume(scene, converted, case_name(path))
    finally:
        converted.unlink(missing_ok=True)


def read_volume(scene, path: Path, name: str):
    """The image file as a volume node read by Slicer's reader, with display nodes and no storage node."""
    volume = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
    storage = scene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    try:
        storage.SetFileName(str(path))
        if storage.ReadData(volume) != 1:
            scene.RemoveNode(volume)
            raise InputError(f"{path}: Slicer can't read this CT; check the file")
    finally:
        volume.SetAndObserveStorageNodeID(None)
        scene.RemoveNode(storage)
    volume.CreateDefaultDisplayNodes()
    return volume
