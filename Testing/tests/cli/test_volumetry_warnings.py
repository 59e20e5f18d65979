"""`flrseg volumetry` shows the checks everywhere: a line per warning under the table, and the JSON, CSV and HTML
exports carry `complete`, the verdict withheld and every warning (a banner in the HTML)."""

import csv
import json
import re

import numpy as np
import SimpleITK as sitk

from FLRSegmentationLib.cli.main import main
from FLRSegmentationLib.research.phantom import make_phantom


def test_a_cut_liver_is_reported_incomplete_in_every_output(tmp_path, capsys):
    _, labels = make_phantom(9001)
    array = sitk.GetArrayFromImage(labels)
    cut = array[np.flatnonzero(array.any((1, 2)))[5]:]  # the scan starts inside the liver
    image = sitk.GetImageFromArray(cut)
    image.SetSpacing(labels.GetSpacing())
    path = tmp_path / "cut_seg.nii.gz"
    sitk.WriteImage(image, str(path))
    out = {kind: tmp_path / f"report.{kind}" for kind in ("json", "csv", "html")}
    code = main(["volumetry", str(path), "--height-cm", "175", "--weight-kg", "80",
                 *[arg for kind, target in out.items() for arg in (f"--{kind}", str(target))]])
    captured = capsys.readouterr()
    printed = captured.out
    assert code == 0
    assert "flrseg: warning [liver_cut_by_scan]: the liver reaches the first slice" in captured.err
    assert re.search(r"Whole liver in the scan +no: the scan cut the liver", printed)

    result = json.loads(out["json"].read_text())
    assert result["complete"] is False and result["verdict"] == result["sflr_verdict"] == "incomplete"
    assert result["warnings"][0]["code"] == "liver_cut_by_scan"

    rows = list(csv.reader(out["csv"].open()))
    assert ["Whole liver in the scan", "no: the scan cut the liver", "", "", "", ""] in rows
    warning_row = next(row for row in rows if row[0] == "Warning")
    assert warning_row[5] == "liver_cut_by_scan" and "the scan cut it" in warning_row[1]
    assert next(row for row in rows if row[0].startswith("sFLR"))[4] == "incomplete"  # the measure that governs

    page = out["html"].read_text()
    banner = page[page.index("<ul class='warnings'>"):]
    assert page.index("<ul class='warnings'>") < page.index("<table")  # above the numbers
    assert "the scan cut it" in banner[:banner.index("</ul>")]
