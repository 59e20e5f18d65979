"""`flrseg segment` withholds the verdict where the measurement can't carry one, with the demo model on real CTs
and phantoms: a scan that cuts the liver is incomplete; a whole phantom liver gets its verdict."""

import json
import subprocess
import sys

import numpy as np
import SimpleITK as sitk

from FLRSegmentationLib.inference.segment_run import SegmentOptions, segment
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.volumetry.flr_assessment import AssessmentOptions

CLI = [sys.executable, "-m", "FLRSegmentationLib.cli"]
VERDICTS = {"sufficient", "insufficient"}


def test_real_ct_whose_scan_cuts_the_liver_gets_no_verdict(real_data, tmp_path):
    ct = real_data / "totalsegmentator" / "example_ct_sm.nii.gz"
    run = subprocess.run(CLI + ["segment", str(ct), "-o", str(tmp_path / "out"), "--device", "cpu", "--progress",
                                "none", "--height-cm", "170", "--weight-kg", "70"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "out" / "example_ct_sm_report.json").read_text())
    assert report["liver_ml"] > 0 and report["complete"] is False
    assert report["verdict"] == "incomplete" and report["sflr_verdict"] == "incomplete"
    codes = [w["code"] for w in report["warnings"]]
    assert "liver_cut_by_scan" in codes and "demo_model" in codes and "out_of_model_domain" in codes
    assert report["model"]["domain"]["images"].startswith("synthetic")
    assert "example_ct_sm: warning [liver_cut_by_scan]: the liver reaches" in run.stderr


def test_whole_phantom_liver_is_complete_with_a_verdict(tmp_path, demo_package):
    ct, truth = make_phantom(9003)
    assert not np.any([np.take(sitk.GetArrayFromImage(truth), i, axis=a).any() for a in range(3) for i in (0, -1)])
    path = tmp_path / "phantom.nrrd"
    sitk.WriteImage(ct, str(path))
    report, = segment([path], tmp_path / "out", SegmentOptions(model=str(demo_package), device="cpu",
                                                               assessment=AssessmentOptions(175, 80)))
    assert report["complete"] is True
    assert report["verdict"] in VERDICTS and report["sflr_verdict"] in VERDICTS
    codes = [w["code"] for w in report["warnings"]]
    assert "liver_cut_by_scan" not in codes and "out_of_model_domain" not in codes
