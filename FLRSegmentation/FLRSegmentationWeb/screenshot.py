"""A PNG of the page's 3D view for the HTML report, as the module captures Slicer's 3D view."""

from __future__ import annotations

from pathlib import Path

from vtkmodules.vtkIOImage import vtkPNGWriter
from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter


def capture_view(view_manager, path: Path) -> Path | None:
    """The first 3D view, rendered now, written to path; None when the layout has no 3D view."""
    views = view_manager.get_threed_views()
    if not views:
        return None
    views[0].render()
    capture = vtkWindowToImageFilter()
    capture.SetInput(views[0].render_window())
    capture.ReadFrontBufferOff()
    capture.Update()
    writer = vtkPNGWriter()
    writer.SetFileName(str(path))
    writer.SetInputConnection(capture.GetOutputPort())
    writer.Write()
    return path if Path(path).is_file() else None
