"""`flrseg` as a real subprocess of the test's Python (the engine on PYTHONPATH, as the tests run)."""

import subprocess
import sys


def flrseg(*args, env=None, check=True, timeout=600):
    done = subprocess.run([sys.executable, "-m", "FLRSegmentationLib.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)
    if check:
        assert done.returncode == 0, done.stderr
    return done
