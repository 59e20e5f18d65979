"""The demo packages declare their training domain (synthetic phantoms); inputs outside it are named."""

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from FLRSegmentationLib.models.domain import OUT_OF_MODEL_DOMAIN, domain_warnings
from FLRSegmentationLib.models.packages import resolve_model
from FLRSegmentationLib.research.demo_models import PHANTOM_DOMAIN
from FLRSegmentationLib.research.phantom import clinical_grid, make_phantom

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("package", ["demo-phantom", "demo-phantom-stunet"])
def test_demo_packages_declare_the_phantom_domain_and_still_verify(package):
    manifest = json.loads((REPO / "Models" / package / "manifest.json").read_text())
    assert manifest["domain"] == PHANTOM_DOMAIN
    with tempfile.TemporaryDirectory() as tmp:
        assert resolve_model(package, Path(tmp)).manifest["domain"] == PHANTOM_DOMAIN  # every sha256 checked


def test_phantoms_like_the_training_ones_are_in_domain():
    for seed in (9001, 9002, 9005):
        assert domain_warnings(PHANTOM_DOMAIN, make_phantom(seed)[0]) == []


def test_real_ct_is_out_of_the_demo_domain_by_its_spacing(real_data):
    ct = sitk.ReadImage(str(real_data / "totalsegmentator" / "example_ct_sm.nii.gz"))
    warning, = domain_warnings(PHANTOM_DOMAIN, ct)
    assert warning["code"] == OUT_OF_MODEL_DOMAIN
    assert "voxel spacing 3.00 x 3.00 x 3.00 mm" in warning["message"] and "4.25-6.9 mm" in warning["message"]
    assert "synthetic abdominal CT phantoms" in warning["message"]


def test_clinical_spacing_and_bright_voxels_are_named():
    ct, _ = make_phantom(3, grid=clinical_grid(size=(128, 128, 20)))
    array = sitk.GetArrayFromImage(ct)
    array[:2] = 2500  # metal-bright slices: 10 % of the voxels
    bright = sitk.GetImageFromArray(array)
    bright.CopyInformation(ct)
    message = domain_warnings(PHANTOM_DOMAIN, bright)[0]["message"]
    assert "voxel spacing 0.80 x 0.80 x 2.50 mm" in message
    assert "10.00 % of the voxels outside the -1024 to 600 HU" in message
    assert domain_warnings(None, bright) == [] and domain_warnings({}, bright) == []
