"""The PACS over DICOMweb (dicomweb-client): find a study's CT series (QIDO-RS), retrieve it (WADO-RS), store our
SEG and SR into its study (STOW-RS).

Credentials come only from the environment (FLRSEG_DICOMWEB_TOKEN for a bearer token, or FLRSEG_DICOMWEB_USER and
FLRSEG_DICOMWEB_PASSWORD for basic authentication), never from the command line where `ps` shows them. Every
failure becomes one PacsError line: which server, what was asked, what it answered, what to do. The client's own
retry loop is off, so an unreachable server fails in seconds; storing retries on its own terms (store_pair).
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import PacsError

ENV_TOKEN = "FLRSEG_DICOMWEB_TOKEN"
ENV_USER = "FLRSEG_DICOMWEB_USER"
ENV_PASSWORD = "FLRSEG_DICOMWEB_PASSWORD"
TIMEOUT_S = 60
STORE_ATTEMPTS = 3
STORE_RETRY_WAIT_S = 1.0
QIDO_PAGE = 100
SERIES_FIELDS = ["Modality", "SeriesDescription", "SeriesNumber", "NumberOfSeriesRelatedInstances"]


class PacsUnreachable(PacsError):
    """No answer at all (refused connection, timeout): a watcher tries again later instead of giving up a study."""


@dataclass(frozen=True)
class SeriesInfo:
    uid: str
    modality: str
    description: str
    instances: int | None  # as the PACS counts them (QIDO), None where it does not say

    def __str__(self) -> str:
        description = f' "{self.description}"' if self.description else ""
        count = "" if self.instances is None else f" ({self.instances} instances)"
        return f"{self.modality or '?'} series {self.uid}{description}{count}"


class Pacs:
    """One DICOMweb server; each call's failure is one PacsError naming the server and the request."""

    def __init__(self, url: str):
        import requests
        from dicomweb_client.api import DICOMwebClient

        logging.getLogger("dicomweb_client").addHandler(logging.NullHandler())  # our PacsError says it in one line
        self.url = url.rstrip("/")
        session = requests.Session()
        token, user, password = (os.environ.get(name) for name in (ENV_TOKEN, ENV_USER, ENV_PASSWORD))
        if token:
            session.headers["Authorization"] = f"Bearer {token}"
        elif user or password:
            if not (user and password):
                raise PacsError(f"{ENV_USER} and {ENV_PASSWORD} go together; set both (or {ENV_TOKEN} instead)")
            session.auth = (user, password)
        self.client = DICOMwebClient(self.url, session=session, timeout=TIMEOUT_S)
        self.client.set_http_retry_params(retry=False)

    def call(self, what: str, method: str, *args, **kwargs):
        with self.request(what):
            return getattr(self.client, method)(*args, **kwargs)

    @contextmanager
    def request(self, what: str):
        """Turn the client's exceptions inside the block into one PacsError line about `what`."""
        import requests

        try:
            yield
        except requests.HTTPError as err:
            status = err.response.status_code if err.response is not None else "?"
            hint = (f"set {ENV_TOKEN}, or {ENV_USER} and {ENV_PASSWORD}, to credentials it accepts"
                    if status in (401, 403) else "check the request and the server's log")
            raise PacsError(f"the PACS at {self.url} refused to {what} (HTTP {status}); {hint}") from None
        except (requests.ConnectionError, requests.Timeout) as err:
            raise PacsUnreachable(f"can't reach the PACS at {self.url} to {what} ({type(err).__name__}); check the "
                                  f"URL and that the server is running") from None

    def study_exists(self, study: str) -> bool:
        return bool(self.call(f"search for study {study}", "search_for_studies",
                              search_filters={"StudyInstanceUID": study}))

    def series_of(self, study: str) -> list[SeriesInfo]:
        found = self.call(f"list the series of study {study}", "search_for_series", study_instance_uid=study,
                          fields=SERIES_FIELDS)
        return [series_info(item) for item in found]

    def ct_studies_since(self, date: str) -> list[str]:
        """The UIDs of the studies with a CT series dated `date` (YYYYMMDD) or later, page by page (a server that
        ignores the offset sends the first page again, which ends the paging instead of looping)."""
        studies: list[str] = []
        while True:
            page = self.call(f"search for CT studies since {date}", "search_for_studies", limit=QIDO_PAGE,
                             offset=len(studies), search_filters={"StudyDate": f"{date}-", "ModalitiesInStudy": "CT"})
            uids = [str(value(item, "0020000D")) for item in page]
            new = [uid for uid in uids if uid not in studies]
            studies.extend(new)
            if len(uids) < QIDO_PAGE or len(new) < len(uids):
                return studies

    def instance_uids(self, study: str, series: str) -> set[str]:
        found = self.call(f"list the instances of series {series}", "search_for_instances",
                          study_instance_uid=study, series_instance_uid=series)
        return {str(value(item, "00080018")) for item in found}


def value(item: dict, tag: str, default=None):
    """The first value of a DICOM JSON attribute."""
    values = item.get(tag, {}).get("Value") or [default]
    first = values[0]
    return first.get("Alphabetic", default) if isinstance(first, dict) else first


def series_info(item: dict) -> SeriesInfo:
    count = value(item, "00201209")
    return SeriesInfo(str(value(item, "0020000E", "")), str(value(item, "00080060", "")),
                      " ".join(str(value(item, "0008103E", "")).split()), None if count is None else int(count))


def choose_ct_series(pacs: Pacs, study: str, series: str | None = None) -> SeriesInfo:
    """The study's one CT series, or the one named; a missing study, no CT, or several CTs unnamed are refused."""
    if not pacs.study_exists(study):
        raise PacsError(f"the PACS at {pacs.url} holds no study {study}; check the Study Instance UID")
    found = pacs.series_of(study)
    if series:
        named = [s for s in found if s.uid == series]
        if not named:
            raise PacsError(f"study {study} has no series {series} (it has: {', '.join(map(str, found)) or 'none'}); "
                            f"check --series")
        if named[0].modality != "CT":
            raise PacsError(f"--series {series} is a {named[0].modality} series, not CT; name the study's CT series")
        return named[0]
    ct = [s for s in found if s.modality == "CT"]
    if not ct:
        raise PacsError(f"study {study} has no CT series (only {', '.join(map(str, found)) or 'no series'}); "
                        f"give a study with a CT series")
    if len(ct) > 1:
        raise PacsError(f"study {study} has {len(ct)} CT series: {'; '.join(map(str, ct))}; name one with --series")
    return ct[0]


def retrieve_series(pacs: Pacs, study: str, info: SeriesInfo, folder: Path) -> None:
    """Every instance of the series as a file in folder; fewer than the PACS counts is refused."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    with pacs.request(f"retrieve series {info.uid}"):
        for count, dataset in enumerate(pacs.client.iter_series(study, info.uid), start=1):  # one in memory at a time
            dataset.save_as(folder / f"{count:05d}.dcm", enforce_file_format=True)
    if info.instances is not None and count != info.instances:
        raise PacsError(f"the PACS at {pacs.url} sent {count} of the {info.instances} instances of CT series "
                        f"{info.uid}; retry, or check the series on the PACS")


def store_pair(pacs: Pacs, study: str, seg_path: Path, sr_path: Path, seg_stored: bool = False) -> None:
    """Store the SEG, then its SR (retried); an SR that still fails has its SEG deleted again where the server
    allows DICOMweb DELETE, otherwise the line says the SEG is stored without its SR, so nobody trusts half.
    seg_stored: the SEG is already there (a watcher resuming an interrupted store)."""
    import pydicom

    seg, sr = pydicom.dcmread(seg_path), pydicom.dcmread(sr_path)
    if not seg_stored:
        store_one(pacs, study, seg, "store the SEG")
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            store_one(pacs, study, sr, "store the SR")
            return
        except PacsError as err:
            failure = err
            if attempt < STORE_ATTEMPTS:
                time.sleep(STORE_RETRY_WAIT_S * attempt)
    try:
        pacs.call("delete the SEG", "delete_instance", study, seg.SeriesInstanceUID, seg.SOPInstanceUID)
    except PacsError:
        raise PacsError(f"{failure} (after {STORE_ATTEMPTS} attempts); the SEG {seg.SOPInstanceUID} IS STORED in study "
                        f"{study} WITHOUT ITS SR and the server does not let us delete it: store {sr_path} once the "
                        f"PACS accepts it, or delete SEG series {seg.SeriesInstanceUID}") from None
    raise PacsError(f"{failure} (after {STORE_ATTEMPTS} attempts); the SEG stored before it was deleted again, so the "
                    f"PACS holds neither; the local outputs are complete") from None


def store_one(pacs: Pacs, study: str, dataset, what: str) -> None:
    """STOW-RS one instance, then ask for it (QIDO-RS): a server may answer success for an instance it dropped
    (Orthanc does when a filter refuses it), and a 2xx answer may list it as failed."""
    answer = pacs.call(what, "store_instances", [dataset], study_instance_uid=study)
    failed = answer.get("FailedSOPSequence") if answer is not None else None
    if failed:
        reason = failed[0].get("FailureReason", "?")
        raise PacsError(f"the PACS at {pacs.url} did not {what} {dataset.SOPInstanceUID} (failure reason {reason}); "
                        f"check the server's log")
    if str(dataset.SOPInstanceUID) not in pacs.instance_uids(study, str(dataset.SeriesInstanceUID)):
        raise PacsError(f"the PACS at {pacs.url} answered the request to {what} {dataset.SOPInstanceUID} but does "
                        f"not hold it (refused by a storage rule?); check the server's log")
