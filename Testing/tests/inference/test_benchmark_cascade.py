"""The cascade benchmark at a tiny size: it runs end to end, prints its figures, and the optimised variant that keeps
the naive cascade's stage inputs gives the naive cascade's labels (agreement is a correctness property, not timing)."""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
TINY = ["--size", "64", "64", "30", "--spacing", "5.4", "5.4", "8.4",  # 346 x 346 x 252 mm, as the full-size run
        "--features", "4", "--plan-spacing", "8.4", "5.4", "5.4", "--patch", "16", "32", "32",
        "--quick", "--compare", "exact", "--threads", "1"]


def test_tiny_benchmark_prints_the_figures_and_the_exact_variant_agrees_with_the_naive_cascade():
    done = subprocess.run([sys.executable, str(REPO / "Testing" / "benchmark_cascade.py"), *TINY],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    last = re.fullmatch(r"speedup=(\d+\.\d\d) memory_ratio=(\d+\.\d\d) min_dice=(\d\.\d{4})", lines[-1])
    assert last, lines[-1]
    assert float(last[1]) > 0 and float(last[2]) > 0
    assert float(last[3]) >= 0.99
    rows = {tuple(line.split()[:2]) for line in lines if re.match(r"(naive|exact) +(timing|demo) ", line)}
    assert rows == {("naive", "timing"), ("exact", "timing"), ("naive", "demo"), ("exact", "demo")}
    agreement = next(line for line in lines if line.strip().startswith("exact ") and "voxels" in line)
    assert agreement.strip().endswith("(0 voxels)")  # not one voxel differs from the naive cascade's labels
    assert any(re.match(r"naive +timing .* liver=\d", line) for line in lines)  # the per-stage split
