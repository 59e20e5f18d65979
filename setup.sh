#!/usr/bin/env bash
# Create .venv at the repository root and install the engine with its test, web and cluster (Dask) dependencies
# (idempotent).
# torch and torchvision are pinned together: nnunetv2 pulls torchvision, which must match torch.
set -euo pipefail
cd "$(dirname "$0")"
# System packages, only where this runs as root (CI, containers): Chromium and its driver for the browser tests
# of `flrseg serve` and the one-page print check of the HTML report (with poppler-utils' pdfinfo), OSMesa as a
# second way to render its views without a display (EGL needs nothing extra); Orthanc with its DICOMweb plugin and
# dicom3tools (dciodvfy) for the PACS round-trip tests of the DICOM objects.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  packages="chromium chromium-driver libosmesa6 poppler-utils orthanc orthanc-dicomweb dicom3tools"
  dpkg -s $packages >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends $packages >/dev/null; }
fi
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check torch==2.14.1 torchvision==0.29.1
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,web,cluster]'
# trame-slicer needs slicer-layer-dm, whose 2.0.0 declares slicer-core==5.11.0.* but runs on the pinned 5.13
# (views, paint, undo and export tested): installed without its dependencies, `pip check` names that one line.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps slicer-layer-dm==2.0.0
