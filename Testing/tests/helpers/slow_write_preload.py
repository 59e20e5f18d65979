"""A Dask worker preload for the killed-worker test (`dask_setup` runs in every worker process as it starts).

While the folder $FLRSEG_TEST_KILL_DIR holds a file `arm`, the first worker that writes a case claims it (renamed
to `claimed-<pid>`, so exactly one attempt is held) and stops half-way through write_case, its label map staged and
its .seg.nrrd not yet written, until the test has ended the process. Every other write goes through untouched.
"""

import os
import time
from pathlib import Path

HOLD_S = 120


def dask_setup(worker):
    from FLRSegmentationLib.inference import case_outputs

    folder = Path(os.environ["FLRSEG_TEST_KILL_DIR"])
    write_seg_nrrd = case_outputs.write_seg_nrrd

    def held_write(*args, **kwargs):  # write_seg_nrrd's own arguments, whatever they are
        try:
            os.rename(folder / "arm", folder / f"claimed-{os.getpid()}")
        except FileNotFoundError:
            return write_seg_nrrd(*args, **kwargs)
        time.sleep(HOLD_S)  # the test kills this worker process meanwhile
        raise RuntimeError("the test did not end this worker")

    case_outputs.write_seg_nrrd = held_write
