"""The module reads the engine's provenance back from a segmentation node (real MRML): the model, the demo mark, and
"edited after" once a segment is painted; the results section's model line and exports say the same."""

from __future__ import annotations

import json

import numpy as np
import SimpleITK as sitk

from FLRSegmentationLib.imaging.provenance import segmentation_provenance
from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd
from FLRSegmentationModuleLib.segmentation_loader import recorded_model
from FLRSegmentationModuleLib.volumetry_results import PatientValues, VolumetryResults, model_text
from mrml_volumetry import ManualScheduler, set_segment_voxels

DEMO = {"id": "demo-phantom", "version": "1.0.0", "demo": True, "label": "demo-phantom 1.0.0"}


def test_node_provenance_and_edit_reach_the_model_line_and_the_exports(tmp_path, scene, read_with_slicer):
    reference = sitk.Image([10, 9, 8], sitk.sitkInt16)
    reference.SetSpacing([0.9, 0.8, 2.0])
    reference.SetOrigin([10.0, -20.0, 30.0])
    liver = np.zeros((8, 9, 10), bool)
    liver[1:7, 1:8, 1:9] = True
    crlm = np.zeros_like(liver)
    crlm[3, 3, 3] = True
    flr = liver & ~crlm
    flr[:, :, 5:] = False
    path = tmp_path / "case.seg.nrrd"
    write_seg_nrrd(path, {"liver": liver, "crlm": crlm, "flr": flr}, reference,
                   segmentation_provenance(DEMO, "cascade", "case.nii.gz", reference, "1.2.3"))
    node = read_with_slicer(path)
    model = recorded_model(node)
    assert model["id"] == "demo-phantom" and model["demo"] is True and model["edited"] is False
    assert model_text(node) == "Model: demo-phantom 1.0.0; NOT FOR CLINICAL USE"

    set_segment_voxels(node, "flr", np.s_[0:2, 0:2, 0:2])  # the Segment Editor replaces the FLR
    assert recorded_model(node)["edited"] is True
    assert model_text(node) == "Model: edited after demo-phantom 1.0.0; NOT FOR CLINICAL USE"
    results = VolumetryResults(scene, ManualScheduler)
    try:
        results.follow(node, PatientValues())
        results.export("html", tmp_path / "r.html")
        results.export("json", tmp_path / "r.json")
    finally:
        results.close()
    assert "edited after demo-phantom 1.0.0" in (tmp_path / "r.html").read_text()
    assert "NOT FOR CLINICAL USE" in (tmp_path / "r.html").read_text()
    assert json.loads((tmp_path / "r.json").read_text())["model"]["edited"] is True
