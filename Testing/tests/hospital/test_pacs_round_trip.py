"""`flrseg segment --dicomweb URL --study UID --store` against a real Orthanc: the CT series is retrieved,
segmented, and the SEG and SR stored into its study; what Orthanc then holds is read back and checked against the
local outputs. Faults (missing study, no CT, several CTs, a series with a gap, no credentials, a stopped server)
end with one line and exit 2, and store nothing."""

import json
import os

import pydicom
import pytest
from dicom_checks import assert_seg_matches_label_map, assert_sr_matches_report
from dicom_phantoms import write_ct_series
from flrseg_process import flrseg
from orthanc_server import running_orthanc

from FLRSegmentationLib.research.phantom import make_phantom
from FLRSegmentationLib.vocabulary.segments import SEGMENTS

RUN = ("--device", "cpu", "--progress", "none")


def modalities(orthanc, study: str) -> list[str]:
    return sorted(s["00080060"]["Value"][0] for s in orthanc.client().search_for_series(study_instance_uid=study))


def retrieved(orthanc, study: str, modality: str, folder):
    """The one object of that modality Orthanc holds in the study, retrieved over DICOMweb and saved in folder."""
    client = orthanc.client()
    series = [s["0020000E"]["Value"][0] for s in client.search_for_series(study_instance_uid=study)
              if s["00080060"]["Value"][0] == modality]
    assert len(series) == 1, f"{len(series)} {modality} series in the study"
    (dataset,) = client.retrieve_series(study, series[0])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{modality}.dcm"
    dataset.save_as(path, enforce_file_format=True)
    return path


def assert_one_line_fault(done, *words):
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("flrseg: error: ") and "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture(scope="module")
def phantom_study(orthanc, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pacs") / "phantom"
    ct, _ = make_phantom(3)
    uids = write_ct_series(ct, folder, patient_id="FLRSEG-PACS-1")
    orthanc.upload(sorted(folder.glob("*.dcm")))
    return folder, uids


@pytest.fixture(scope="module")
def round_trip(orthanc, phantom_study, tmp_path_factory):
    _, uids = phantom_study
    out = tmp_path_factory.mktemp("round-trip") / "out"
    done = flrseg("segment", "--dicomweb", orthanc.dicomweb, "--study", uids.study, "--store", "-o", out, *RUN,
                  env=orthanc.credentials_env(os.environ))
    return out, done


def test_seg_and_sr_are_stored_into_the_study(orthanc, phantom_study, round_trip, tmp_path, dciodvfy):
    folder, uids = phantom_study
    out, done = round_trip
    assert f"into study {uids.study}" in done.stdout
    assert modalities(orthanc, uids.study) == ["CT", "SEG", "SR"]
    case = uids.series
    seg_path, sr_path = retrieved(orthanc, uids.study, "SEG", tmp_path), retrieved(orthanc, uids.study, "SR", tmp_path)
    seg, sr = pydicom.dcmread(seg_path), pydicom.dcmread(sr_path)
    assert seg.SOPInstanceUID == pydicom.dcmread(out / f"{case}_seg.dcm").SOPInstanceUID
    assert sr.SOPInstanceUID == pydicom.dcmread(out / f"{case}_sr.dcm").SOPInstanceUID
    assert [s.SegmentLabel for s in seg.SegmentSequence] == [s.name for s in SEGMENTS]
    header = assert_seg_matches_label_map(seg_path, folder, out / f"{case}_seg.nii.gz")
    assert header.series_uids == {uids.series} and header.instance_uids == set(uids.instances)
    assert header.frame_of_reference == uids.frame_of_reference
    report = json.loads((out / f"{case}_report.json").read_text())
    assert_sr_matches_report(sr, seg, report)
    assert report["input"] == f"{orthanc.dicomweb} study {uids.study} series {uids.series}"
    assert dciodvfy(seg_path) == [] and dciodvfy(sr_path) == []


def test_real_ct_slices_round_trip(orthanc, real_data, tmp_path, dciodvfy):
    """The dcmqi slices of a real GE CT: their own study, with their own UIDs."""
    sources = sorted((real_data / "dcmqi-ct-3slice").glob("0?.dcm"))
    orthanc.upload(sources)
    headers = [pydicom.dcmread(path, stop_before_pixels=True) for path in sources]
    study = str(headers[0].StudyInstanceUID)
    flrseg("segment", "--dicomweb", orthanc.dicomweb, "--study", study, "--store", "-o", tmp_path / "out", *RUN,
           env=orthanc.credentials_env(os.environ))
    seg_path = retrieved(orthanc, study, "SEG", tmp_path / "pacs")
    sr_path = retrieved(orthanc, study, "SR", tmp_path / "pacs")
    case = str(headers[0].SeriesInstanceUID)
    ct_folder = tmp_path / "ct"
    ct_folder.mkdir()
    for path in sources:
        (ct_folder / path.name).write_bytes(path.read_bytes())
    header = assert_seg_matches_label_map(seg_path, ct_folder, tmp_path / "out" / f"{case}_seg.nii.gz",
                                          require_content=False)
    assert header.instance_uids == {str(h.SOPInstanceUID) for h in headers}
    assert_sr_matches_report(pydicom.dcmread(sr_path), pydicom.dcmread(seg_path),
                             json.loads((tmp_path / "out" / f"{case}_report.json").read_text()))
    assert dciodvfy(seg_path) == [] and dciodvfy(sr_path) == []


def test_missing_study(orthanc, tmp_path):
    before = orthanc.rest("GET", "/studies")
    done = flrseg("segment", "--dicomweb", orthanc.dicomweb, "--study", "1.2.826.0.1.3680043.8.498.1", "--store",
                  "-o", tmp_path / "out", *RUN, env=orthanc.credentials_env(os.environ), check=False)
    assert_one_line_fault(done, "holds no study 1.2.826.0.1.3680043.8.498.1")
    assert not (tmp_path / "out").exists() and orthanc.rest("GET", "/studies") == before


def test_stopped_pacs(tmp_path, phantom_study):
    _, uids = phantom_study
    with running_orthanc(tmp_path / "stopped") as server:
        pass  # started, then stopped: its port now refuses connections
    done = flrseg("segment", "--dicomweb", server.dicomweb, "--study", uids.study, "--store", "-o", tmp_path / "out",
                  *RUN, env=server.credentials_env(os.environ), check=False)
    assert_one_line_fault(done, "can't reach the PACS at", server.dicomweb)
    assert not (tmp_path / "out").exists()


def test_no_credentials(orthanc, phantom_study, tmp_path):
    _, uids = phantom_study
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLRSEG_DICOMWEB_")}
    done = flrseg("segment", "--dicomweb", orthanc.dicomweb, "--study", uids.study, "-o", tmp_path / "out", *RUN,
                  env=env, check=False)
    assert_one_line_fault(done, "HTTP 401", "FLRSEG_DICOMWEB_USER")
    assert not (tmp_path / "out").exists()


def test_study_without_ct(orthanc, tmp_path):
    ct, _ = make_phantom(3)
    uids = write_ct_series(ct, tmp_path / "mr", patient_id="FLRSEG-PACS-MR", modality="MR")
    orthanc.upload(sorted((tmp_path / "mr").glob("*.dcm")))
    done = flrseg("segment", "--dicomweb", orthanc.dicomweb, "--study", uids.study, "--store", "-o", tmp_path / "out",
                  *RUN, env=orthanc.credentials_env(os.environ), check=False)
    assert_one_line_fault(done, "has no CT series", "MR series")
    assert modalities(orthanc, uids.study) == ["MR"] and not (tmp_path / "out").exists()


def test_several_ct_series_are_listed_and_refused_unless_one_is_named(orthanc, tmp_path):
    ct, _ = make_phantom(3)
    first = write_ct_series(ct, tmp_path / "a", patient_id="FLRSEG-PACS-2", description="venous")
    second = write_ct_series(ct, tmp_path / "b", patient_id="FLRSEG-PACS-2", study_uid=first.study,
                             description="arterial", series_number=3)
    orthanc.upload(sorted((tmp_path / "a").glob("*.dcm")) + sorted((tmp_path / "b").glob("*.dcm")))
    done = flrseg("segment", "--dicomweb", orthanc.dicomweb, "--study", first.study, "--store", "-o",
                  tmp_path / "out", *RUN, env=orthanc.credentials_env(os.environ), check=False)
    assert_one_line_fault(done, "2 CT series", first.series, second.series, '"venous"', "--series")
    assert modalities(orthanc, first.study) == ["CT", "CT"] and not (tmp_path / "out").exists()
    flrseg("segment", "--dicomweb", orthanc.dicomweb, "--study", first.study, "--series", second.series, "-o",
           tmp_path / "named", *RUN, env=orthanc.credentials_env(os.environ))
    seg = pydicom.dcmread(tmp_path / "named" / f"{second.series}_seg.dcm")
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == second.series
    assert modalities(orthanc, first.study) == ["CT", "CT"]  # without --store nothing is stored


def test_user_without_password_is_refused(orthanc, phantom_study, tmp_path):
    _, uids = phantom_study
    env = {**orthanc.credentials_env(os.environ), "FLRSEG_DICOMWEB_PASSWORD": ""}
    done = flrseg("segment", "--dicomweb", orthanc.dicomweb, "--study", uids.study, "-o", tmp_path / "out", *RUN,
                  env=env, check=False)
    assert_one_line_fault(done, "FLRSEG_DICOMWEB_USER and FLRSEG_DICOMWEB_PASSWORD go together")


def test_series_with_a_missing_slice(orthanc, tmp_path):
    ct, _ = make_phantom(3)
    uids = write_ct_series(ct, tmp_path / "gap", patient_id="FLRSEG-PACS-GAP", skip_slices={7})
    orthanc.upload(sorted((tmp_path / "gap").glob("*.dcm")))
    done = flrseg("segment", "--dicomweb", orthanc.dicomweb, "--study", uids.study, "--store", "-o", tmp_path / "out",
                  *RUN, env=orthanc.credentials_env(os.environ), check=False)
    assert_one_line_fault(done, f"retrieved CT series {uids.series}", "slices missing")
    assert modalities(orthanc, uids.study) == ["CT"] and not (tmp_path / "out").exists()
