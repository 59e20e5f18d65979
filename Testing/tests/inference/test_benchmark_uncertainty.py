"""The uncertainty benchmark at a small size runs end to end and prints its figures (no timing asserted)."""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_small_benchmark_prints_the_cost_of_the_uncertain_voxels():
    done = subprocess.run([sys.executable, str(REPO / "Testing" / "benchmark_uncertainty.py"), "--size", "96", "96",
                           "40", "--spacing", "3.0", "3.0", "5.0", "--repeats", "1"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    last = re.fullmatch(r"label_cpu_s=(\d+\.\d\d) with_uncertainty_cpu_s=(\d+\.\d\d) extra_percent=(-?\d+\.\d) "
                        r"stage_cpu_s=(\d+\.\d\d) uncertain_percent=(\d+\.\d\d)", done.stdout.strip().splitlines()[-1])
    assert last, done.stdout
    assert 0 < float(last[5]) < 50  # some voxels are uncertain, most are not
