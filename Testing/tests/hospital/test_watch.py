"""`flrseg watch --dicomweb URL --once --store` against its own real Orthanc: each CT study dated from --since on
is processed once; a restart redoes nothing and skips nothing, and a store left half-done by a stopped watcher is
completed from the outputs already written, without segmenting again."""

import json
import os

import pydicom
import pytest
from dicom_phantoms import write_ct_series
from flrseg_process import flrseg
from orthanc_server import running_orthanc

from FLRSegmentationLib.research.phantom import make_phantom


@pytest.fixture(scope="module")
def pacs(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("watch-orthanc")) as server:
        yield server


def upload_study(server, folder, date: str, seed: int = 3):
    ct, _ = make_phantom(seed)
    uids = write_ct_series(ct, folder, patient_id=f"FLRSEG-WATCH-{date}", study_date=date)
    server.upload(sorted(folder.glob("*.dcm")))
    return uids


def series_by_modality(server, study: str) -> dict[str, list[str]]:
    found = {}
    for item in server.client().search_for_instances(study_instance_uid=study):
        found.setdefault(item["00080060"]["Value"][0], []).append(item["00080018"]["Value"][0])
    return found


def watch_once(server, out):
    return flrseg("watch", "--dicomweb", server.dicomweb, "-o", out, "--since", "20260101", "--once", "--store",
                  "--device", "cpu", "--progress", "none", env=server.credentials_env(os.environ), check=False)


@pytest.fixture(scope="module")
def first_poll(pacs, tmp_path_factory):
    root = tmp_path_factory.mktemp("watch")
    studies = {name: upload_study(pacs, root / name, date)
               for name, date in (("a", "20260110"), ("b", "20260120"), ("old", "20251231"))}
    done = watch_once(pacs, root / "out")
    assert done.returncode == 0, done.stderr
    return root, studies, done


def test_each_new_ct_study_is_processed_and_stored(pacs, first_poll):
    root, studies, done = first_poll
    assert "poll: 2 study(ies) processed, 0 failed" in done.stdout
    record = json.loads((root / "out" / "flrseg_watch.json").read_text())
    assert record["pacs"] == pacs.dicomweb
    assert set(record["studies"]) == {studies["a"].study, studies["b"].study}
    for name in ("a", "b"):
        entry = record["studies"][studies[name].study]
        assert entry["status"] == "done" and entry["series"] == studies[name].series and entry["stored"] is True
        held = series_by_modality(pacs, studies[name].study)
        assert sorted(held) == ["CT", "SEG", "SR"] and len(held["SEG"]) == len(held["SR"]) == 1
        assert held["SEG"][0] == pydicom.dcmread(entry["dicom_seg"]).SOPInstanceUID
    assert sorted(series_by_modality(pacs, studies["old"].study)) == ["CT"]  # before --since


def test_restart_redoes_nothing_skips_nothing_and_finishes_a_half_store(pacs, first_poll):
    root, studies, _ = first_poll
    out = root / "out"
    again = watch_once(pacs, out)
    assert again.returncode == 0 and "poll: 0 study(ies) processed" in again.stdout, again.stderr
    # a watcher stopped while storing study a: its SR never reached the PACS
    record_path = out / "flrseg_watch.json"
    record = json.loads(record_path.read_text())
    entry_a = record["studies"][studies["a"].study]
    entry_a["status"] = "storing"
    record_path.write_text(json.dumps(record))
    sr_uid = pydicom.dcmread(entry_a["dicom_sr"]).SOPInstanceUID
    (found,) = pacs.rest("POST", "/tools/lookup", data=sr_uid)
    pacs.rest("DELETE", f"/instances/{found['ID']}")
    assert "SR" not in series_by_modality(pacs, studies["a"].study)
    label_map_a = out / f"{studies['a'].series}_seg.nii.gz"
    written_a = label_map_a.stat().st_mtime_ns
    new = upload_study(pacs, root / "new", "20260125", seed=5)  # arrives while the watcher is down
    resumed = watch_once(pacs, out)
    assert resumed.returncode == 0 and "poll: 2 study(ies) processed, 0 failed" in resumed.stdout, resumed.stderr
    held_a = series_by_modality(pacs, studies["a"].study)
    assert held_a["SR"] == [sr_uid] and len(held_a["SEG"]) == 1  # the same SR stored, the SEG not stored twice
    assert label_map_a.stat().st_mtime_ns == written_a  # not segmented again
    held_new = series_by_modality(pacs, new.study)
    assert sorted(held_new) == ["CT", "SEG", "SR"]
    record = json.loads(record_path.read_text())
    assert {s["status"] for s in record["studies"].values()} == {"done"} and len(record["studies"]) == 3


def test_unreachable_pacs_with_once(tmp_path):
    with running_orthanc(tmp_path / "stopped") as server:
        pass
    done = flrseg("watch", "--dicomweb", server.dicomweb, "-o", tmp_path / "out", "--once",
                  env=server.credentials_env(os.environ), check=False)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "can't reach the PACS at" in lines[0], done.stderr
