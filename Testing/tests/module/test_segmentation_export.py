"""The edited segmentation as a .seg.nrrd through Slicer's writer (real MRML): overlaps, names and the model that
made it survive the file; a bad target is one line and leaves nothing behind."""

from __future__ import annotations

import numpy as np
import pytest
import slicer
from vtkmodules.util import numpy_support

from FLRSegmentationLib.errors import InputError
from FLRSegmentationModuleLib.segmentation_export import write_segmentation
from FLRSegmentationModuleLib.segmentation_loader import record_model, recorded_model
from mrml_volumetry import set_segment_voxels

MODEL = {"id": "demo-phantom", "version": "1.1.0", "demo": True, "label": "demo | not for clinical use"}


def voxel_count(node, segment_id: str) -> int:
    labelmap = slicer.vtkOrientedImageData()
    node.GetBinaryLabelmapRepresentation(segment_id, labelmap)
    return int(np.count_nonzero(numpy_support.vtk_to_numpy(labelmap.GetPointData().GetScalars())))


def test_overlaps_names_and_model_survive_the_file(seg_path, read_with_slicer, tmp_path):
    node = read_with_slicer(seg_path)  # Liver 480 holding CRLM 8 and FLR 192
    record_model(node, MODEL)
    set_segment_voxels(node, "flr", np.s_[0:6, 0:8, 0:6])  # an edit: FLR 288, still inside Liver
    target = tmp_path / "out" / "edited.seg.nrrd"
    write_segmentation(node, target)

    again = read_with_slicer(target)
    segmentation = again.GetSegmentation()
    assert [segmentation.GetNthSegment(i).GetName() for i in range(3)] == ["Liver", "CRLM", "FLR"]
    assert [voxel_count(again, key) for key in ("liver", "crlm", "flr")] == [480, 8, 288]
    assert again.GetAttribute("FLRSegmentation.Model") is None  # node attributes are not in the file...
    assert recorded_model(again) == MODEL  # ...the segments' tags are
    assert sorted(p.name for p in target.parent.iterdir()) == ["edited.seg.nrrd"]  # no staging folder left


def test_a_wrong_name_or_folder_is_one_line_and_writes_nothing(seg_path, read_with_slicer, tmp_path):
    node = read_with_slicer(seg_path)
    folder = tmp_path / "exports"
    folder.mkdir()
    with pytest.raises(InputError, match=r"\.seg\.nrrd"):
        write_segmentation(node, folder / "edited.nrrd")
    blocker = folder / "a file"
    blocker.write_text("")
    with pytest.raises(InputError, match="can't write") as error:
        write_segmentation(node, blocker / "edited.seg.nrrd")
    assert "\n" not in str(error.value)
    assert sorted(p.name for p in folder.iterdir()) == ["a file"]
