"""The preview PNG read back: its size, and each segment's colour exactly on its mask's outline in every view."""

import numpy as np
import SimpleITK as sitk
from matplotlib.image import imread

from FLRSegmentationLib.volumetry.preview_png import TEXT_PX, panel_boxes, write_preview
from FLRSegmentationLib.vocabulary.segments import SEGMENTS_BY_KEY

COLOURS = {key: np.round(np.array(SEGMENTS_BY_KEY[key].color) * 255).astype(np.uint8)
           for key in ("liver", "crlm", "flr")}


def ring(shape, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    """The border pixels of the rectangle rows[0]..rows[1], cols[0]..cols[1] (inclusive)."""
    box = np.zeros(shape, bool)
    box[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1] = True
    inner = np.zeros(shape, bool)
    inner[rows[0] + 1:rows[1], cols[0] + 1:cols[1]] = True
    return box & ~inner


def test_preview_has_each_segments_colour_on_its_outline(tmp_path):
    ct = sitk.Image([60, 60, 60], sitk.sitkInt16)  # 1 mm, identity direction: 5 pixels per voxel in each panel
    array = np.full((60, 60, 60), -1000, np.int16)
    liver = np.zeros((60, 60, 60), bool)
    liver[10:50, 15:45, 10:50] = True  # z, y, x
    array[liver] = 60
    crlm = np.zeros_like(liver)
    crlm[28:34, 28:34, 35:41] = True
    flr = liver & ~crlm
    flr[:, :, 25:] = False  # x 10-24
    image = sitk.GetImageFromArray(array)
    path = tmp_path / "case_preview.png"
    volumes = {"liver_ml": 48.0, "crlm_ml": 0.216, "functional_liver_ml": 47.784, "flr_ml": 18.0}
    masks = {"liver": liver, "crlm": crlm, "flr": flr}
    write_preview(path, image, masks, volumes, "case")
    png = (imread(str(path))[..., :3] * 255).round().astype(np.uint8)
    boxes = panel_boxes(image, masks)
    assert boxes["axial"] == (0, 0, 300, 300)
    right = max(left + width for left, _, width, _ in boxes.values())
    assert png.shape == (300 + TEXT_PX, right, 3)

    left, top, width, height = boxes["axial"]  # slice z = 30 (the liver's centre): rows y, columns x
    axial = png[top:top + height, left:left + width]
    coloured = {key: np.all(axial == colour, axis=-1) for key, colour in COLOURS.items()}
    liver_ring = ring((300, 300), (75, 224), (50, 249))
    flr_ring = ring((300, 300), (75, 224), (50, 124))
    crlm_ring = ring((300, 300), (140, 169), (175, 204))
    assert coloured["liver"].any() and not (coloured["liver"] & ~liver_ring).any()
    assert coloured["liver"][76:224, 249].all()  # the liver's own edge, shared with no other segment
    assert not (coloured["flr"] & ~flr_ring).any() and coloured["flr"][76:224, 124].all()
    assert (coloured["crlm"] == crlm_ring).all()  # drawn whole: inside the liver, apart from the FLR
    assert np.all(axial[150, 100] == axial[150, 100, 0]) and axial[150, 100, 0] > 100  # inside: grey liver
    for view in ("coronal", "sagittal"):
        left, top, width, height = boxes[view]
        panel = png[top:top + height, left:left + width]
        shown = {key for key, colour in COLOURS.items() if np.all(panel == colour, axis=-1).any()}
        # coronal y = 30 cuts all three; sagittal x = 30 lies beyond the FLR (x < 25) and before the CRLM (x >= 35)
        assert shown == ({"liver", "flr", "crlm"} if view == "coronal" else {"liver"}), view
