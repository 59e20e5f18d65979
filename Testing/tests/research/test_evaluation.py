"""`flrseg evaluate` on constructed label maps whose Dice, HD95 and FLR % error are computed by hand.

The grid is anisotropic (x 0.8, y 0.6, z 2.5 mm) and the structures are slabs two slices thick, so every voxel of
them is a surface voxel and each surface distance is a whole number of voxel steps along one axis: a one-voxel
shift along x, y or z must come out as exactly 0.8, 0.6 or 2.5 mm (this also proves the spacing is passed to MONAI
in the array's axis order).

Reference (z, y, x index ranges, inclusive): liver z 4-5, y 2-9, x 2-9 (128 voxels); CRLM y 2-3 (32 voxels);
FLR y 6-9 (64 voxels); FLR % = 64 / (128 - 32) = 66.667 %.
"""

import csv
import math

import numpy as np
import pytest
import SimpleITK as sitk

from FLRSegmentationLib.cli.main import main
from FLRSegmentationLib.research.evaluation import case_of, evaluate, score_case

SPACING_XYZ = (0.8, 0.6, 2.5)
SHAPE_ZYX = (12, 20, 20)
ORIGIN = (-10.0, 20.0, 35.0)
REF_FLR_PERCENT = 100 * 64 / 96


def reference(crlm: bool = True) -> np.ndarray:
    label_map = np.zeros(SHAPE_ZYX, np.uint8)
    label_map[4:6, 2:10, 2:10] = 1
    if crlm:
        label_map[4:6, 2:4, 2:10] = 2
    label_map[4:6, 6:10, 2:10] = 3
    return label_map


def write(label_map: np.ndarray, path, spacing=SPACING_XYZ, origin=ORIGIN):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = sitk.GetImageFromArray(label_map)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    sitk.WriteImage(image, str(path), useCompression=True)
    return path


def case_a() -> np.ndarray:
    """Liver exact; CRLM loses its x = 2 column (to liver); FLR loses its y = 6 row (to liver)."""
    label_map = reference()
    label_map[4:6, 2:4, 2] = 1
    label_map[4:6, 6, 2:10] = 1
    return label_map


def case_b() -> np.ndarray:
    """Everything one slice (2.5 mm) higher."""
    return np.roll(reference(), 1, axis=0)


def case_c() -> np.ndarray:
    """Exact, plus one stray liver voxel far away: HD95 ignores it, the maximum would not."""
    label_map = reference()
    label_map[10, 18, 18] = 1
    return label_map


HAND = {  # case: (Dice liver, CRLM, FLR), (HD95 mm liver, CRLM, FLR), FLR % of the prediction
    # CRLM 28 of 32 voxels: Dice 56/60; 4 of the 32 reference surface voxels are 0.8 mm away, above the 95th
    # percentile's rank (0.95 x 31 = 29.45 > 28 zeros). FLR 48 of 64: Dice 96/112; 16 of 64 at 0.6 mm.
    "a": ((1.0, 56 / 60, 96 / 112), (0.0, 0.8, 0.6), 100 * 48 / 100),
    # half of each slab overlaps: Dice 1/2, and the non-overlapping half is one slice (2.5 mm) away
    "b": ((0.5, 0.5, 0.5), (2.5, 2.5, 2.5), REF_FLR_PERCENT),
    # 1 of 129 predicted surface voxels is far: rank 0.95 x 128 = 121.6 stays among the zeros
    "c": ((256 / 257, 1.0, 1.0), (0.0, 0.0, 0.0), 100 * 64 / 97),
}


@pytest.fixture
def folders(tmp_path):
    for name, build in (("a", case_a), ("b", case_b), ("c", case_c)):
        write(reference(), tmp_path / "ref" / f"case_{name}.nii.gz")
        write(build(), tmp_path / "pred" / f"case_{name}_seg.nii.gz")
    return tmp_path


def test_dice_hd95_and_flr_error_match_the_hand_computed_values(folders):
    scores, notes = evaluate(folders / "ref", {"cascade": folders / "pred"})
    assert notes == []
    by_case = {s.case: s for s in scores["cascade"]}
    assert sorted(by_case) == ["case_a", "case_b", "case_c"]
    for name, (dice, hd95, flr_percent) in HAND.items():
        got = by_case[f"case_{name}"]
        assert [got.dice[s] for s in ("liver", "crlm", "flr")] == pytest.approx(dice, abs=1e-6), name
        assert [got.hd95_mm[s] for s in ("liver", "crlm", "flr")] == pytest.approx(hd95, abs=1e-5), name
        assert got.flr_percent_ref == pytest.approx(REF_FLR_PERCENT, abs=1e-3)
        assert got.flr_percent_error == pytest.approx(abs(flr_percent - REF_FLR_PERCENT), abs=2e-3), name


def test_empty_masks_get_the_documented_values(tmp_path):
    no_crlm = write(reference(crlm=False), tmp_path / "ref_no_crlm.nii.gz")
    # both without CRLM: Dice 1, HD95 0
    both = score_case("x", write(reference(crlm=False), tmp_path / "pred_no_crlm.nii.gz"), no_crlm)
    assert (both.dice["crlm"], both.hd95_mm["crlm"]) == (1.0, 0.0)
    # a false-positive CRLM where the reference has none: Dice 0, HD95 undefined (NaN)
    false_positive = score_case("x", write(reference(), tmp_path / "pred_crlm.nii.gz"), no_crlm)
    assert false_positive.dice["crlm"] == 0.0 and math.isnan(false_positive.hd95_mm["crlm"])
    # a missed CRLM: the same, the other way round
    missed = score_case("x", no_crlm, write(reference(), tmp_path / "ref_crlm.nii.gz"))
    assert missed.dice["crlm"] == 0.0 and math.isnan(missed.hd95_mm["crlm"])
    # nothing at all in either: every Dice 1, every HD95 0, FLR % undefined and so its error
    empty = np.zeros(SHAPE_ZYX, np.uint8)
    nothing = score_case("x", write(empty, tmp_path / "e1.nii.gz"), write(empty, tmp_path / "e2.nii.gz"))
    assert set(nothing.dice.values()) == {1.0} and set(nothing.hd95_mm.values()) == {0.0}
    assert math.isnan(nothing.flr_percent_error)


def test_case_names_of_segment_outputs_and_nnunet_files_match():
    assert case_of("p001_seg.nii.gz") == case_of("p001.nii.gz") == case_of("p001_0000.nii.gz") == "p001"
    assert case_of("p001.nrrd") == "p001" and case_of("q_seg.mha") == "q"
    assert case_of("p001.seg.nrrd") is None and case_of("p001_report.json") is None


def test_cli_puts_two_prediction_sets_side_by_side_with_csv_and_markdown(folders, tmp_path, capsys):
    # a second set: case_a without CRLM (a missed lesion: HD95 undefined), case_c absent, an extra unmatched case
    write(case_b(), tmp_path / "e2e" / "case_b.nii.gz")
    missed = case_a()
    missed[missed == 2] = 1
    write(missed, tmp_path / "e2e" / "case_a_seg.nii.gz")
    write(case_b(), tmp_path / "e2e" / "case_z_seg.nii.gz")
    (tmp_path / "e2e" / "case_b_report.json").write_text("{}")  # segment's other outputs are ignored
    csv_path, md_path = tmp_path / "scores.csv", tmp_path / "table.md"
    code = main(["evaluate", str(folders / "pred"), str(folders / "ref"), "--pred2", str(tmp_path / "e2e"),
                 "--name", "cascade", "--name2", "E2E", "--csv", str(csv_path), "--markdown", str(md_path)])
    out = capsys.readouterr().out
    assert code == 0
    table = md_path.read_text()
    assert table in out
    lines = table.splitlines()
    assert lines[0] == "| metric | cascade (n=2) | E2E (n=2) |"  # only the cases every set has: a and b
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    rows = {row[0]: row[1:] for row in cells}
    # Liver Dice: cascade a 1.0, b 0.5 -> 0.750 +- 0.354 (sample sd: 0.5 / sqrt 2); E2E the same
    assert rows["Liver Dice"] == ["0.750 ± 0.354", "0.750 ± 0.354"]
    # CRLM HD95: cascade 0.8 and 2.5 -> 1.65 +- 1.20; E2E: a undefined, b 2.5 -> n=1 of 2
    assert rows["CRLM HD95 (mm)"] == ["1.65 ± 1.20", "2.50 ± 0.00 (n=1/2)"]
    assert list(rows) == ["Liver Dice", "CRLM Dice", "FLR Dice", "Liver HD95 (mm)", "CRLM HD95 (mm)",
                          "FLR HD95 (mm)", "FLR % absolute error (pp)"]
    assert "case_c" in out and "case_z" in out  # the cases left out are named
    with open(csv_path, newline="") as stream:
        records = list(csv.DictReader(stream))
    assert [(r["prediction"], r["case"]) for r in records] == [("cascade", "case_a"), ("cascade", "case_b"),
                                                               ("E2E", "case_a"), ("E2E", "case_b")]
    assert records[2]["crlm_dice"] == "0.0" and records[2]["crlm_hd95_mm"] == "nan"
    assert float(records[0]["flr_dice"]) == pytest.approx(96 / 112)
    assert float(records[0]["flr_percent_abs_error"]) == pytest.approx(REF_FLR_PERCENT - 48.0, abs=2e-3)


def assert_one_line_error(code, err, expected):
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("flrseg: error: ") and expected in lines[0], err


@pytest.mark.parametrize("change, expected", [
    ({"spacing": (0.8, 0.6, 3.0)}, "spacing"),
    ({"origin": (-10.0, 20.0, 37.5)}, "origin"),
])
def test_a_prediction_on_another_grid_is_refused_and_nothing_is_written(folders, tmp_path, capsys, change, expected):
    write(case_a(), folders / "pred" / "case_a_seg.nii.gz", **change)
    csv_path = tmp_path / "scores.csv"
    code = main(["evaluate", str(folders / "pred"), str(folders / "ref"), "--csv", str(csv_path)])
    assert_one_line_error(code, capsys.readouterr().err, expected)
    assert not csv_path.exists()


def test_bad_folders_and_labels_are_one_line_errors(folders, tmp_path, capsys):
    code = main(["evaluate", str(tmp_path / "absent"), str(folders / "ref")])
    assert_one_line_error(code, capsys.readouterr().err, "is not a folder")
    (tmp_path / "other").mkdir()
    write(case_a(), tmp_path / "other" / "someone_else.nii.gz")
    code = main(["evaluate", str(tmp_path / "other"), str(folders / "ref")])
    assert_one_line_error(code, capsys.readouterr().err, "no case")
    bad = case_a()
    bad[0, 0, 0] = 7
    write(bad, folders / "pred" / "case_a_seg.nii.gz")
    code = main(["evaluate", str(folders / "pred"), str(folders / "ref")])
    assert_one_line_error(code, capsys.readouterr().err, "holds labels")
