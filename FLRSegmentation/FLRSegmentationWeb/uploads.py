"""Files the browser uploads, written into the session's private folder under names that can't leave it.

The page sends each file with the name the browser gives it; only its last part is kept (a name like
`../../x` or `a/b` stays inside the upload folder), and a repeated name (files of one DICOM series from
several sub-folders) gets a number. One image file, or an image header with its data file (.mhd + .raw), is
opened as that file; anything else as a DICOM folder, which the engine's reader then checks.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path, PurePosixPath

from trame.app.file_upload import ClientFile

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.imaging.ct_input import IMAGE_IOS


def save_uploads(files: list[dict], session_dir: Path) -> Path:
    """Write the uploaded files into a new folder of the session; returns the file or folder to open."""
    if not files:
        raise InputError("Nothing was uploaded; choose a CT file or a DICOM folder")
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=session_dir))
    try:
        paths = [_write(ClientFile(file), folder, index) for index, file in enumerate(files)]
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    images = [p for p in paths if p.name.lower().endswith(tuple(IMAGE_IOS))]
    return images[0] if len(images) == 1 else folder


def _write(upload: ClientFile, folder: Path, index: int) -> Path:
    name = PurePosixPath(str(upload.name or "").replace("\\", "/")).name
    if name in ("", ".", ".."):
        raise InputError(f"an uploaded file has no usable name ('{upload.name}'); rename it and upload again")
    path = folder / name
    if path.exists():
        path = folder / f"{index:05d}-{name}"
    path.write_bytes(upload.content or b"")
    return path
