#!/usr/bin/env bash
# The GPU check of the cascade benchmark (Testing/BENCHMARKS.md, "GPU check"), prepared for a lent CUDA machine:
# one command, at most 5 minutes, run from the repository root. Full-size nnU-Net networks (features 32 ... 320,
# the planned 64 x 192 x 192 patch at the CT's own 1.25 x 0.7 x 0.7 mm, so no resampling) for all three timing
# stages; the untrained liver answers "liver" everywhere, so stages 2-3 crop to the whole volume (their worst case
# for the engine). The peer (nnU-Net's own predictor per stage) and the optimised engine on a 512 x 512 x 200 CT;
# the demo models give the agreement and, in fp32, the voxels fp16 autocast changes. Record the device name, wall
# time, peak GPU MB and peak RSS MB of both, and the fp16-vs-fp32 line in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
LOG=${OUT:-/tmp}/gpu_check.log
export PYTHONPATH=$PWD/FLRSegmentation${PYTHONPATH:+:$PYTHONPATH}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$LOG"
timeout 290 "$PYTHON" Testing/benchmark_cascade.py --device cuda --size 512 512 200 --spacing 0.7 0.7 1.25 \
    --features 32 --plan-spacing 1.25 0.7 0.7 --patch 64 192 192 --untrained liver crlm flr 2>&1 | tee -a "$LOG"
