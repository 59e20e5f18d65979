"""Exact volumes and CRLM count from constructed masks, `.seg.nrrd` files and label maps, and segment mapping."""

import numpy as np
import pytest
import SimpleITK as sitk

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd
from FLRSegmentationLib.vocabulary.labels import combine_masks
from FLRSegmentationLib.volumetry.segmentation_volumes import crlm_count, measure_segmentation_file, parse_segment_names


def rotation(axis, degrees):
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    t = np.radians(degrees)
    return np.eye(3) + np.sin(t) * K + (1 - np.cos(t)) * K @ K


GRIDS = {  # spacing (x, y, z) and direction
    "isotropic": ((1.0, 1.0, 1.0), np.eye(3)),
    "anisotropic": ((0.5, 0.8, 2.5), np.eye(3)),  # 1 mm^3 per voxel
    "oblique": ((0.5, 0.8, 2.5), rotation([1, 2, 3], 25) @ np.diag([1, -1, 1])),  # tilted, one axis flipped
}


def grid(name):
    spacing, direction = GRIDS[name]
    image = sitk.Image([12, 10, 8], sitk.sitkUInt8)
    image.SetSpacing(spacing)
    image.SetDirection(direction.ravel().tolist())
    image.SetOrigin([-30.5, 12.25, 400.0])
    return image


def constructed_masks():
    """Liver 6 x 8 x 10 = 480 voxels; CRLM 2 x 2 x 2 + 1 = 9 voxels inside it; FLR 6 x 8 x 4 = 192 voxels, one of
    them CRLM."""
    liver = np.zeros((8, 10, 12), bool)
    liver[1:7, 1:9, 1:11] = True
    crlm = np.zeros_like(liver)
    crlm[2:4, 2:4, 6:8] = True
    crlm[5, 5, 1] = True  # inside the FLR
    flr = np.zeros_like(liver)
    flr[1:7, 1:9, 1:5] = True
    return {"liver": liver, "crlm": crlm, "flr": flr}


@pytest.mark.parametrize("name", GRIDS)
def test_seg_nrrd_volumes_are_exact_voxel_counts(tmp_path, name):
    path = tmp_path / "case.seg.nrrd"
    write_seg_nrrd(path, constructed_masks(), grid(name))
    voxel_ml = float(np.prod(GRIDS[name][0])) / 1000  # 1 mm^3 = 0.001 mL on every grid here
    v = measure_segmentation_file(path)
    assert v["liver_ml"] == pytest.approx(480 * voxel_ml, abs=1e-9)
    assert v["crlm_ml"] == pytest.approx(9 * voxel_ml, abs=1e-9)
    assert v["functional_liver_ml"] == pytest.approx(471 * voxel_ml, abs=1e-9)
    assert v["flr_ml"] == pytest.approx(191 * voxel_ml, abs=1e-9)  # the CRLM voxel in the FLR is not remnant
    assert v["flr_percent"] == pytest.approx(round(100 * 191 / 471, 3))
    assert v["crlm_count"] == 2


def test_anisotropic_voxel_volume_is_the_product_of_the_spacings(tmp_path):
    image = grid("anisotropic")
    image.SetSpacing((0.7, 0.9, 3.0))  # 1.89 mm^3 per voxel
    path = tmp_path / "case.seg.nrrd"
    write_seg_nrrd(path, constructed_masks(), image)
    # 480 x 1.89 mm^3 = 907.2 mm^3; reports give mL to 3 decimals (1 mm^3): 0.907
    assert measure_segmentation_file(path)["liver_ml"] == round(480 * 1.89 / 1000, 3) == 0.907


@pytest.mark.parametrize("suffix", [".nii.gz", ".nrrd"])
def test_label_map_on_an_oblique_grid(tmp_path, suffix):
    m = constructed_masks()
    m["flr"] &= ~m["crlm"]  # the engine's label map holds disjoint CRLM and FLR
    labels = sitk.GetImageFromArray(combine_masks(m["liver"], m["crlm"], m["flr"]))
    labels.CopyInformation(grid("oblique"))
    path = tmp_path / f"labels{suffix}"
    sitk.WriteImage(labels, str(path))
    v = measure_segmentation_file(path)
    assert (v["liver_ml"], v["crlm_ml"], v["flr_ml"], v["crlm_count"]) == (0.48, 0.009, 0.191, 2)


def test_lesions_touching_at_a_corner_are_one_lesion_26_connectivity():
    crlm = np.zeros((5, 5, 5), bool)
    crlm[1, 1, 1] = crlm[2, 2, 2] = True  # corner contact
    assert crlm_count(crlm) == 1
    crlm[4, 4, 4] = True  # one voxel gap from [2, 2, 2]
    assert crlm_count(crlm) == 2
    assert crlm_count(np.zeros_like(crlm)) == 0


def test_segment_names_are_mapped_and_missing_ones_listed(tmp_path):
    path = tmp_path / "renamed.seg.nrrd"
    write_seg_nrrd(path, constructed_masks(), grid("isotropic"))
    text = path.read_bytes().replace(b"Segment2_Name:=FLR", b"Segment2_Name:=Remnant")
    path.write_bytes(text)
    with pytest.raises(InputError, match=r"no segment named 'FLR' \(its segments: 'Liver', 'CRLM', 'Remnant'\)"):
        measure_segmentation_file(path)
    assert measure_segmentation_file(path, parse_segment_names("FLR=Remnant"))["flr_ml"] == pytest.approx(0.191)
    # a name equal but for case is found without a mapping
    assert measure_segmentation_file(path, parse_segment_names("flr=remnant"))["flr_ml"] == pytest.approx(0.191)


@pytest.mark.parametrize("text", ["FLR", "Spleen=Milz", "FLR=", "Liver=Leber;CRLM=Tumor"])
def test_bad_segment_name_mapping_is_refused(text):
    with pytest.raises(InputError, match="ROLE=NAME"):
        parse_segment_names(text)


def test_label_map_with_foreign_labels_or_a_name_mapping_is_refused(tmp_path):
    image = sitk.GetImageFromArray(np.full((3, 3, 3), 7, np.uint8))
    sitk.WriteImage(image, str(tmp_path / "seven.nii.gz"))
    with pytest.raises(InputError, match="holds labels"):
        measure_segmentation_file(tmp_path / "seven.nii.gz")
    with pytest.raises(InputError, match="no segment names"):
        measure_segmentation_file(tmp_path / "seven.nii.gz", parse_segment_names("FLR=Rest"))
