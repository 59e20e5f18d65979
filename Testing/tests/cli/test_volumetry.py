"""`flrseg volumetry` and `flrseg pve`: printed table, JSON, CSV and HTML exports, bad input; `segment` options."""

import csv
import json

import numpy as np
import pytest
import SimpleITK as sitk

from FLRSegmentationLib.cli.main import build_parser, main
from FLRSegmentationLib.cli.segment import options_from
from FLRSegmentationLib.errors import FLRSegError
from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd
from FLRSegmentationLib.volumetry.flr_assessment import AssessmentOptions


def label_map_file(path, flr_slices: int) -> None:
    """Liver 10 x 10 x 10 voxels of 1 mm^3 (1.0 mL) with a 2-voxel CRLM; FLR = the first flr_slices x-slices."""
    labels = np.zeros((12, 12, 12), np.uint8)
    labels[1:11, 1:11, 1:11] = 1
    labels[1:11, 1:11, 1:1 + flr_slices] = 3
    labels[5, 5, 8:10] = 2
    image = sitk.GetImageFromArray(labels)
    sitk.WriteImage(image, str(path))


@pytest.fixture
def seg_file(tmp_path):
    liver = np.zeros((12, 12, 12), bool)
    liver[1:11, 1:11, 1:11] = True  # 1000 voxels of 1 mm^3
    crlm = np.zeros_like(liver)
    crlm[5, 5, 8:10] = True
    flr = np.zeros_like(liver)
    flr[1:11, 1:11, 1:4] = True  # 300 voxels
    path = tmp_path / "case.seg.nrrd"
    write_seg_nrrd(path, {"liver": liver, "crlm": crlm, "flr": flr}, sitk.Image([12, 12, 12], sitk.sitkUInt8))
    return path


def test_volumetry_prints_the_table_and_writes_json_csv_html(tmp_path, seg_file, capsys):
    screenshot = tmp_path / "view.png"
    sitk.WriteImage(sitk.Image([4, 3], sitk.sitkUInt8), str(screenshot))
    model_report = tmp_path / "case_report.json"
    model_report.write_text(json.dumps({"model": {"id": "demo-phantom", "demo": True, "label": "Demo phantom 1.0"}}))
    out = {kind: tmp_path / f"out.{kind}" for kind in ("json", "csv", "html")}
    rc = main(["volumetry", str(seg_file), "--height-cm", "160", "--weight-kg", "90", "--condition", "cirrhosis",
                   "--json", str(out["json"]), "--csv", str(out["csv"]), "--html", str(out["html"]),
                   "--screenshot", str(screenshot), "--model-report", str(model_report)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "FLR % (FLR / functional liver)" in printed and "Azoulay" in printed
    result = json.loads(out["json"].read_text())
    # FLR 300 mm^3 of a 998 mm^3 functional liver: 30.06 %; sFLR 0.3 mL / 1740.15 mL estimated TLV: 0.017 %
    assert (result["liver_ml"], result["crlm_ml"], result["crlm_count"]) == (1.0, 0.002, 1)
    assert (result["functional_liver_ml"], result["flr_ml"], result["flr_percent"]) == (0.998, 0.3, 30.06)
    assert (result["bsa_m2"], result["estimated_tlv_ml"], result["sflr_percent"]) == (2.0, 1740.15, 0.017)
    assert (result["condition"], result["threshold_percent"], result["verdict"]) == ("cirrhosis", 40.0, "insufficient")
    assert result["sflr_verdict"] == "insufficient"
    rows = list(csv.reader(out["csv"].open()))
    assert rows[0] == ["Quantity", "Value", "Unit", "Threshold", "Verdict", "Reference"]
    assert ["FLR % (FLR / functional liver)", "30.06", "%"] == rows[6][:3] and "Kubota" in rows[6][5]
    page = out["html"].read_text()
    assert "NOT FOR CLINICAL USE" in page and "data:image/png;base64," in page and "Kubota" in page


def test_volumetry_without_body_size_has_no_sflr(seg_file, tmp_path, capsys):
    assert main(["volumetry", str(seg_file), "--json", str(tmp_path / "r.json")]) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    assert "sflr_percent" not in result and result["sflr_verdict"] is None
    assert result["threshold_percent"] == 20.0 and result["verdict"] == "sufficient"  # 30.06 > 20


def test_pve_reports_hypertrophy_and_growth_rate(tmp_path, capsys):
    label_map_file(tmp_path / "before.nii.gz", flr_slices=3)  # FLR 300 mm^3
    label_map_file(tmp_path / "after.nii.gz", flr_slices=5)  # FLR 500 mm^3
    rc = main(["pve", str(tmp_path / "before.nii.gz"), str(tmp_path / "after.nii.gz"), "--weeks", "4",
                   "--height-cm", "160", "--weight-kg", "90", "--json", str(tmp_path / "pve.json")])
    assert rc == 0
    result = json.loads((tmp_path / "pve.json").read_text())
    # sFLR = FLR / 1740.15 mL: 0.3 -> 0.017 %, 0.5 -> 0.029 %; DH = 0.029 - 0.017 = 0.012 points; KGR 0.012 / 4 = 0.003
    assert (result["before"]["sflr_percent"], result["after"]["sflr_percent"]) == (0.017, 0.029)
    assert result["degree_of_hypertrophy_points"] == 0.012 and result["kinetic_growth_rate_percent_per_week"] == 0.003
    assert "below 2 %/week" in result["kgr_warning"] and "warning: kinetic growth rate" in capsys.readouterr().out


BAD_INPUT = {
    "height without weight": (["--height-cm", "170"], "the weight is missing"),
    "zero height": (["--height-cm", "0", "--weight-kg", "70"], "outside the adult human range 100-250 cm"),
    "negative weight": (["--height-cm", "170", "--weight-kg", "-70"], "outside the adult human range 20-350 kg"),
    "height in metres": (["--height-cm", "1.7", "--weight-kg", "70"], "100-250 cm"),
    "segment names": (["--segment-names", "FLR=Remnant"], "no segment named 'Remnant' (its segments: 'Liver'"),
    "name syntax": (["--segment-names", "Remnant"], "ROLE=NAME"),
    "screenshot alone": (["--screenshot", "x.png"], "add --html PATH"),
    "model report": (["--model-report", "missing.json"], "not a report of `flrseg segment`"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_volumetry_input_is_one_line_and_exit_2(case, seg_file, tmp_path, capsys):
    options, message = BAD_INPUT[case]
    out = tmp_path / "r.json"
    assert main(["volumetry", str(seg_file), "--json", str(out), *options]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("flrseg: error:") and message in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["volumetry", "missing.seg.nrrd"], "does not exist"),
    (["pve", "a.nii.gz", "b.nii.gz", "--weeks", "3"], "pve needs --height-cm and --weight-kg"),
    (["pve", "a.nii.gz", "b.nii.gz", "--weeks", "0", "--height-cm", "170", "--weight-kg", "70"], "at most 52"),
])
def test_bad_command_input_is_one_line_and_exit_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_empty_flr_is_reported_not_divided(tmp_path, capsys):
    label_map_file(tmp_path / "no_flr.nii.gz", flr_slices=0)
    assert main(["volumetry", str(tmp_path / "no_flr.nii.gz"), "--height-cm", "170", "--weight-kg", "70",
                     "--json", str(tmp_path / "r.json")]) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["verdict"] == result["sflr_verdict"] == "no FLR segment"
    assert "No FLR segment" in capsys.readouterr().out


def test_segment_takes_the_patient_options_and_checks_them_before_running():
    parser = build_parser()
    defaults = options_from(parser.parse_args(["segment", "ct.nii.gz", "-o", "out"]))
    assert defaults.assessment == AssessmentOptions()
    args = parser.parse_args(["segment", "ct.nii.gz", "-o", "out", "--height-cm", "170", "--weight-kg", "70",
                              "--condition", "chemotherapy"])
    assert options_from(args).assessment == AssessmentOptions(170, 70, condition="chemotherapy")
    with pytest.raises(FLRSegError, match="weight is missing"):
        options_from(parser.parse_args(["segment", "ct.nii.gz", "-o", "out", "--height-cm", "170"]))


def test_segment_report_carries_the_volumetry_fields():
    from types import SimpleNamespace

    from FLRSegmentationLib.inference.segment_run import SegmentOptions, case_report

    labels = np.zeros((5, 5, 5), np.uint8)
    labels[1:4, 1:4, 1:4] = 1  # 27 voxels of 1 mm^3
    labels[1:4, 1:4, 1] = 3  # FLR 9 voxels
    labels[2, 2, 3] = 2  # CRLM 1 voxel: functional liver 26, FLR % = 9 / 26 = 34.615 %
    from FLRSegmentationLib.inference.engine import CaseResult

    result = CaseResult(labels)  # no uncertain voxels known: no range
    package = SimpleNamespace(is_demo=True, id="demo", version="1", manifest={"title": "t", "license": "l"},
                              label=lambda: "demo 1")
    engine = SimpleNamespace(devices={}, fallbacks=[])
    options = SegmentOptions(assessment=AssessmentOptions(160, 90, condition="chemotherapy"))
    report = case_report("c", "c.nii.gz", sitk.Image([5, 5, 5], sitk.sitkFloat32), result, engine, package, options, 1)
    assert (report["flr_percent"], report["crlm_count"], report["verdict"]) == (34.615, 1, "sufficient")
    # sFLR = 0.009 mL / 1740.15 mL x 100 = 0.000517 %, reported 0.001 %
    assert (report["bsa_m2"], report["sflr_percent"], report["sflr_verdict"]) == (2.0, 0.001, "insufficient")
    assert report["complete"] is True and report["flr_percent_range"] is None
