"""The cascade benchmark at a tiny size: it runs end to end against the peer (nnU-Net's own predictor per stage,
files between stages), prints its figures, and the engine gives the peer's labels (agreement is a correctness
property, not timing)."""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
TINY = ["--size", "64", "64", "30", "--spacing", "5.4", "5.4", "8.4",  # 346 x 346 x 252 mm, as the full-size run
        "--features", "4", "--plan-spacing", "8.4", "5.4", "5.4", "--patch", "16", "32", "32", "--threads", "1"]
NUMBER = r"(\d+\.\d\d)"


def test_tiny_benchmark_prints_the_figures_and_the_engine_agrees_with_nnunets_own_predictor():
    done = subprocess.run([sys.executable, str(REPO / "Testing" / "benchmark_cascade.py"), *TINY],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    last = re.fullmatch(rf"peer=nnunet speedup={NUMBER} memory_ratio={NUMBER} min_dice=(\d\.\d{{4}}) "
                        rf"network_share={NUMBER}", lines[-1])
    assert last, lines[-1]
    speedup, memory_ratio, min_dice, network_share = map(float, last.groups())
    assert speedup > 0 and memory_ratio > 0
    assert min_dice >= 0.99
    assert 0 < network_share <= 1  # forward passes are part of the engine's wall time
    rows = {tuple(line.split()[:2]) for line in lines if re.match(r"(peer|optimised) +(timing|demo) ", line)}
    assert rows == {("peer", "timing"), ("optimised", "timing"), ("peer", "demo"), ("optimised", "demo")}
    assert any(re.match(r"peer +timing .* liver=\d", line) for line in lines)  # the per-stage split
    assert any(re.match(r"optimised +timing .* crlm=\d+\.\d\(\d+\.\d\)", line) for line in lines)  # network s
