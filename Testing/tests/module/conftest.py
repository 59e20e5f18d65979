"""Fixtures of the Slicer module tests: a stand-in for the engine's process, a segmentation file for the live
volumetry (Liver 480, CRLM 8, FLR 192 voxels of 1 mm^3 on an oblique grid), and a model registry with its manager
and a localhost server for downloads."""

import functools
import http.server
import json
import stat
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from FLRSegmentationLib.imaging.seg_nrrd import write_seg_nrrd
from FLRSegmentationModuleLib.model_manager import ModelManager
from package_folders import make_package

SPACING = (0.5, 0.8, 2.5)  # 1 mm^3 per voxel

STAND_IN = """\
    #!{python}
    import argparse, sys
    from pathlib import Path
    import numpy as np, SimpleITK as sitk
    from FLRSegmentationLib.inference.case_outputs import write_case
    from FLRSegmentationLib.inference.progress import format_progress_line
    parser = argparse.ArgumentParser()
    parser.add_argument("-m"); parser.add_argument("command"); parser.add_argument("input", type=Path)
    parser.add_argument("-o", type=Path); parser.add_argument("--progress"); parser.add_argument("--model")
    parser.add_argument("--strategy"); parser.add_argument("--device"); parser.add_argument("--fast", action="store_true")
    args = parser.parse_args()
    if args.model == "crash":
        sys.exit("flrseg: error: model 'crash' is damaged")
    print(format_progress_line("liver", 0.5, "stage 1"), flush=True)
    ct = sitk.ReadImage(str(args.input))
    array = sitk.GetArrayFromImage(ct)
    labels = np.where(array > 50, 1, 0).astype(np.uint8)
    labels[array > 100] = 3
    labels[array > 110] = 2
    args.o.mkdir()
    report = {{"flr_percent": 12.5, "liver_ml": 1.0, "crlm_ml": 0.1, "flr_ml": 0.1, "model": {{"label": args.model}}}}
    write_case(args.o, args.input.name.split(".")[0], ct, labels, report)
    print(format_progress_line("done", 1.0, "written"), flush=True)
    """


@pytest.fixture
def stand_in_python(tmp_path) -> str:
    """An executable script that takes the engine's command line and writes its outputs with the engine's own
    writer (case_outputs.write_case) from a threshold of the CT: the job's plumbing without trained weights."""
    script = tmp_path / "stand_in_engine.py"
    script.write_text(textwrap.dedent(STAND_IN.format(python=sys.executable)))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


@pytest.fixture
def seg_path(tmp_path):
    """Liver 6 x 8 x 10 = 480 voxels, CRLM 8 voxels, FLR 6 x 8 x 4 = 192 voxels, on an oblique anisotropic grid."""
    liver = np.zeros((8, 10, 12), bool)
    liver[1:7, 1:9, 1:11] = True
    crlm = np.zeros_like(liver)
    crlm[2:4, 2:4, 6:8] = True
    flr = np.zeros_like(liver)
    flr[1:7, 1:9, 1:5] = True
    grid = sitk.Image([12, 10, 8], sitk.sitkUInt8)
    grid.SetSpacing(SPACING)
    grid.SetDirection([0, 1, 0, -1, 0, 0, 0, 0, 1])  # axes swapped and one flipped
    grid.SetOrigin([10.0, -20.0, 300.0])
    path = tmp_path / "case.seg.nrrd"
    write_seg_nrrd(path, {"liver": liver, "crlm": crlm, "flr": flr}, grid)
    return path


@pytest.fixture
def registry(tmp_path) -> Path:
    """A registry beside a bundled demo package, like the extension's Models/ folder."""
    models = tmp_path / "bundled"
    make_package(models / "demo", id="demo", title="Demo", demo=True)
    entries = [{"id": "demo", "title": "Demo", "version": "1.0.0", "demo": True, "path": "demo"},
               {"id": "liver-test", "title": "Test cascade", "version": "2.0.0", "size": 1234,
                "url": "http://127.0.0.1:1/none.zip", "sha256": "0" * 64}]
    (models / "registry.json").write_text(json.dumps({"format_version": 1, "models": entries}))
    return models / "registry.json"


@pytest.fixture
def manager(registry, tmp_path) -> ModelManager:
    return ModelManager(registry, tmp_path / "user models")


@pytest.fixture
def http_folder(tmp_path):
    """A localhost HTTP server over a folder; yields its base URL."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
