"""`<case>_preview.png`: a look at what the model found, before anyone trusts its numbers.

Axial, coronal and sagittal slices through the liver's centre, in the abdominal window, with each segment's outline
in its colour (vocabulary/segments.py), and a bar of the volumes below. A liver found on the spine shows at a glance.
The slices are composed pixel by pixel (nearest neighbour, to the physical aspect, one-pixel outlines, no
smoothing), so the colours in the file are exactly the segments' colours where their outlines are; matplotlib's
Agg canvas (no display, no pyplot state) adds the bar and the text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..vocabulary.segments import SEGMENTS

PANEL_PX = 300  # the longer side of each slice panel
GAP_PX = 8
DPI = 100
WINDOW_HU = (-160.0, 240.0)  # abdominal window: level 40, width 400
TEXT_PX = 120  # below the panels: the volume bar and the text
VIEWS = ("axial", "coronal", "sagittal")


def write_preview(path, ct: sitk.Image, masks: dict[str, np.ndarray], volumes: dict, title: str,
                  notes: tuple[str, ...] = ()) -> None:
    """Write the preview PNG of a CT and its masks (segment key -> bool (z, y, x) on the CT's grid)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    canvas = slice_canvas(ct, masks)
    sizes = ", ".join(f"{name} {volumes.get(key) or 0:.0f} mL" for key, name in (
        ("liver_ml", "liver"), ("crlm_ml", "CRLM"), ("flr_ml", "FLR")))
    title = f"{title}: {sizes}"
    height, width = canvas.shape[0] + TEXT_PX, canvas.shape[1]
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor="white")
    figure.figimage(canvas, xo=0, yo=TEXT_PX, origin="upper")
    _volume_bar(figure.add_axes((0.02, 0.08 * TEXT_PX / height, 0.96, 0.3 * TEXT_PX / height)), volumes)
    figure.text(0.01, 0.95 * TEXT_PX / height, "\n".join((title,) + tuple(notes)), fontsize=8, va="top",
                wrap=True)
    FigureCanvasAgg(figure).print_png(str(path))


def panel_boxes(ct: sitk.Image, masks: dict[str, np.ndarray]) -> dict[str, tuple[int, int, int, int]]:
    """Where each view lies in the PNG: (left, top, width, height) in pixels from the top left corner."""
    return {view: box for view, (_, box) in zip(VIEWS, _panels(ct, masks))}


def slice_canvas(ct: sitk.Image, masks: dict[str, np.ndarray]) -> np.ndarray:
    """The three views side by side as an RGB uint8 array, outlines drawn."""
    panels = _panels(ct, masks)
    height = max(panel.shape[0] for panel, _ in panels)
    canvas = np.zeros((height, panels[-1][1][0] + panels[-1][1][2], 3), np.uint8)
    for panel, (left, top, width, rows) in panels:
        canvas[top:top + rows, left:left + width] = panel
    return canvas


def _panels(ct: sitk.Image, masks: dict[str, np.ndarray]) -> list[tuple[np.ndarray, tuple]]:
    """Each view's RGB panel and its box (left, top, width, height) in the canvas."""
    image, labels = _lps_oriented(ct, masks)
    spacing = np.array(image.GetSpacing())  # x, y, z
    array = sitk.GetArrayViewFromImage(image)
    centre = _centre(labels.get("liver"), array.shape)
    panels, left = [], 0
    for view in VIEWS:
        grey, planes, pixel_mm = _view(array, labels, centre, spacing, view)
        panel = _render(grey, planes, pixel_mm)
        panels.append((panel, (left, 0, panel.shape[1], panel.shape[0])))
        left += panel.shape[1] + GAP_PX
    return panels


def _lps_oriented(ct: sitk.Image, masks: dict[str, np.ndarray]) -> tuple[sitk.Image, dict[str, np.ndarray]]:
    """CT and masks with index axes along L, P, S, so every view shows the patient the usual way round."""
    oriented = {}
    for key, mask in masks.items():
        image = sitk.GetImageFromArray(mask.astype(np.uint8))
        image.CopyInformation(ct)
        oriented[key] = sitk.GetArrayFromImage(sitk.DICOMOrient(image, "LPS")) > 0
    return sitk.DICOMOrient(ct, "LPS"), oriented


def _centre(liver: np.ndarray | None, shape: tuple) -> tuple[int, int, int]:
    """The liver's centre of mass (z, y, x), or the volume's centre when there is no liver."""
    if liver is None or not liver.any():
        return tuple(n // 2 for n in shape)
    return tuple(int(round(float(np.mean(axis)))) for axis in np.nonzero(liver))


def _view(array, labels, centre, spacing, view):
    """A 2D slice (rows, columns) of the CT and of each mask, and its (row, column) pixel size in mm."""
    z, y, x = centre
    if view == "axial":  # rows anterior to posterior, columns patient right to left (radiological)
        take, pixel_mm = (lambda a: a[z]), (spacing[1], spacing[0])
    elif view == "coronal":  # rows superior to inferior
        take, pixel_mm = (lambda a: a[::-1, y, :]), (spacing[2], spacing[0])
    else:  # sagittal: rows superior to inferior, columns anterior to posterior
        take, pixel_mm = (lambda a: a[::-1, :, x]), (spacing[2], spacing[1])
    return take(array), {key: take(mask) for key, mask in labels.items()}, pixel_mm


def _render(grey: np.ndarray, planes: dict[str, np.ndarray], pixel_mm: tuple) -> np.ndarray:
    """The slice in the abdominal window, resampled to the physical aspect, with each segment's outline."""
    extent = np.array(grey.shape) * np.array(pixel_mm)
    size = np.maximum(1, np.round(extent * PANEL_PX / extent.max())).astype(int)
    rows = np.minimum((np.arange(size[0]) + 0.5) * grey.shape[0] // size[0], grey.shape[0] - 1).astype(int)
    cols = np.minimum((np.arange(size[1]) + 0.5) * grey.shape[1] // size[1], grey.shape[1] - 1).astype(int)
    low, high = WINDOW_HU
    shown = np.clip((grey[np.ix_(rows, cols)].astype(float) - low) / (high - low), 0, 1)
    panel = np.repeat((shown * 255).astype(np.uint8)[..., None], 3, axis=2)
    for segment in SEGMENTS:  # later segments (CRLM, FLR) drawn over the liver's outline
        if planes.get(segment.key) is not None:
            outline = outline_pixels(planes[segment.key][np.ix_(rows, cols)])
            panel[outline] = np.round(np.array(segment.color) * 255).astype(np.uint8)
    return panel


def outline_pixels(mask: np.ndarray) -> np.ndarray:
    """The mask's pixels with a 4-neighbour outside it (or on the image border)."""
    padded = np.pad(mask, 1)
    inner = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~inner


def _volume_bar(axes, volumes: dict) -> None:
    """One horizontal bar: liver outside the FLR, FLR, CRLM, each in its segment's colour, with its volume."""
    colours = {s.key: s.color for s in SEGMENTS}
    flr, crlm = volumes.get("flr_ml") or 0.0, volumes.get("crlm_ml") or 0.0
    parts = (("Liver outside FLR", max((volumes.get("functional_liver_ml") or 0.0) - flr, 0.0), colours["liver"]),
             ("FLR", flr, colours["flr"]), ("CRLM", crlm, colours["crlm"]))
    start = 0.0
    for name, millilitres, colour in parts:
        axes.barh(0, millilitres, left=start, color=colour, height=1.0, edgecolor="none")
        if millilitres > 0.12 * max(volumes.get("liver_ml") or 0.0, 1e-9):  # a label that fits its part
            axes.text(start + millilitres / 2, 0, f"{name} {millilitres:.0f} mL", ha="center", va="center",
                      fontsize=8)
        start += millilitres
    axes.set_xlim(0, max(start, 1.0))
    axes.set_axis_off()


def preview_path(out_dir: Path, case: str) -> Path:
    return Path(out_dir) / f"{case}_preview.png"
