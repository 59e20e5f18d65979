"""The HTML report a surgeon reads: case, headline, warnings, table, pictures and footnoted references, in that
order, on one A4 page (printed with headless Chromium, counted with poppler's pdfinfo)."""

import re
import shutil
import subprocess

import pytest
import SimpleITK as sitk

from FLRSegmentationLib.cli.main import main
from FLRSegmentationLib.inference.case_outputs import write_case
from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.volumetry.export import write_html
from FLRSegmentationLib.volumetry.flr_assessment import AssessmentOptions, assess
from FLRSegmentationLib.volumetry.rows import volumetry_rows
from FLRSegmentationLib.volumetry.segmentation_volumes import measure_label_map_volumes

DEMO = {"id": "demo-phantom", "version": "1.0.0", "demo": True, "label": "demo-phantom 1.0.0 (demo)"}
STUDY = {"PatientName": "DOE^JANE", "PatientID": "99000", "StudyDate": "20030417",
         "StudyDescription": "CT abdomen portal venous", "SeriesDescription": "Abd 1.25", "SeriesNumber": "2"}


@pytest.fixture(scope="module")
def segmented(tmp_path_factory):
    """A phantom's truth written as the segment command writes a DICOM case: seg.nrrd with provenance, preview."""
    out = tmp_path_factory.mktemp("case")
    ct, truth = make_phantom(3)
    labels = sitk.GetArrayFromImage(truth)
    report = {"case": "99000_S2", "input": "/data/DICOM", "study": STUDY, "model": DEMO, "strategy": "cascade",
              **assess(measure_label_map_volumes(labels, ct.GetSpacing()), AssessmentOptions())}
    return write_case(out, "99000_S2", ct, labels, report, preview=True)


def test_page_opens_with_case_and_headline_and_embeds_the_pictures(segmented, tmp_path, capsys):
    page_path = tmp_path / "report.html"
    assert main(["volumetry", str(segmented["segmentation"]), "--height-cm", "170", "--weight-kg", "80",
                 "--condition", "chemotherapy", "--html", str(page_path)]) == 0
    page = page_path.read_text()
    order = [page.index(text) for text in (
        "NOT FOR CLINICAL USE", "Patient: DOE JANE (ID 99000)", "Study: 2003-04-17, CT abdomen portal venous",
        "class='headline insufficient'>Insufficient: sFLR", "<table>", "<div class='pictures'>", "<h2>References")]
    assert order == sorted(order)
    assert page.count("src='data:image/png;base64,") == 2  # the segment command's preview and the chart
    assert "Shindoh 2013 [" in page  # short in the table, in full in the footnotes
    notes = re.findall(r"<li>(.*?)</li>", page.split("<h2>References")[1])
    assert any(n.startswith("Shindoh J et al., Ann Surg Oncol 2013;20:2493") for n in notes)
    assert "NOT FOR CLINICAL USE" in capsys.readouterr().err


@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("pdfinfo")),
                    reason="needs chromium and poppler-utils' pdfinfo (setup.sh installs both as root)")
def test_report_prints_on_one_a4_page(segmented, tmp_path):
    """The fullest page: sFLR rows, a screenshot besides the preview and the chart, three warnings."""
    ct, truth = make_phantom(3)
    labels = sitk.GetArrayFromImage(truth)
    result = assess(measure_label_map_volumes(labels, ct.GetSpacing()), AssessmentOptions(170, 80))
    result["warnings"] = [{"code": "fov", "message": "the liver touches the top of the scan: it may be cut off"},
                          {"code": "plausibility", "message": "liver volume 3.1 L is above the adult range"},
                          {"code": "domain", "message": "slice thickness 5 mm is outside the model's training data"}]
    result["flr_percent_range"] = [16.9, 19.4]
    page_path = tmp_path / "report.html"
    write_html(page_path, "FLR volumetry: 99000_S2.seg.nrrd", volumetry_rows(result), DEMO,
               segmented["preview"], ["KGR below 2 %/week"], result["headline"], result, segmented["preview"],
               ["Patient: DOE JANE (ID 99000)", "Study: 2003-04-17, CT abdomen portal venous"])
    page = page_path.read_text()
    assert "the liver touches the top of the scan" in page and page.count("data:image/png") == 3
    pdf = tmp_path / "report.pdf"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", page_path.as_uri()], check=True, capture_output=True, timeout=120)
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    assert "(A4)" in info
