"""A PACS that refuses what we store (an Orthanc whose Lua filter rejects the SEG of one patient and the SR of
another): exit 2 with one line, the local outputs complete, and never an SR without its SEG; an SEG whose SR stays
refused (after the retries) is reported as stored without it, since Orthanc's DICOMweb has no DELETE."""

import os

import pytest
from dicom_phantoms import write_ct_series
from flrseg_process import flrseg
from orthanc_server import running_orthanc

from FLRSegmentationLib.research.phantom import make_phantom

FILTER = """
function ReceivedInstanceFilter(dicom, origin, info)
  if dicom.PatientID == 'REJECT-SEG' and dicom.Modality == 'SEG' then return false end
  if dicom.PatientID == 'REJECT-SR' and dicom.Modality == 'SR' then return false end
  return true
end
"""


@pytest.fixture(scope="module")
def refusing_orthanc(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("refusing-orthanc"), lua=FILTER) as server:
        yield server


def modalities(server, study: str) -> list[str]:
    return sorted(s["00080060"]["Value"][0] for s in server.client().search_for_series(study_instance_uid=study))


def store_run(server, patient: str, folder):
    ct, _ = make_phantom(3)
    uids = write_ct_series(ct, folder / "ct", patient_id=patient)
    server.upload(sorted((folder / "ct").glob("*.dcm")))
    done = flrseg("segment", "--dicomweb", server.dicomweb, "--study", uids.study, "--store", "-o", folder / "out",
                  "--device", "cpu", "--progress", "none", env=server.credentials_env(os.environ), check=False)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    outputs = sorted(p.name.removeprefix(uids.series) for p in (folder / "out").iterdir())
    assert outputs == [".seg.nrrd", "_preview.png", "_report.json", "_seg.dcm", "_seg.nii.gz", "_sr.dcm"], \
        "local outputs complete"
    return uids, lines[0]


def test_refused_seg_stores_nothing(refusing_orthanc, tmp_path):
    uids, line = store_run(refusing_orthanc, "REJECT-SEG", tmp_path)
    assert "store the SEG" in line and refusing_orthanc.url in line
    assert modalities(refusing_orthanc, uids.study) == ["CT"]


def test_refused_sr_is_retried_then_reported_with_the_stored_seg(refusing_orthanc, tmp_path):
    uids, line = store_run(refusing_orthanc, "REJECT-SR", tmp_path)
    assert modalities(refusing_orthanc, uids.study) == ["CT", "SEG"]
    (seg,) = [s for s in refusing_orthanc.client().search_for_instances(study_instance_uid=uids.study)
              if s["00080060"]["Value"][0] == "SEG"]
    assert "store the SR" in line and "after 3 attempts" in line
    assert f"the SEG {seg['00080018']['Value'][0]} IS STORED in study {uids.study} WITHOUT ITS SR" in line
