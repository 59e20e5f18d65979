#!/usr/bin/env bash
# Create .venv at the repository root and install the engine with its test and cluster (Dask) dependencies (idempotent).
# torch and torchvision are pinned together: nnunetv2 pulls torchvision, which must match torch.
set -euo pipefail
cd "$(dirname "$0")"
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check torch==2.14.1 torchvision==0.29.1
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,cluster]'
