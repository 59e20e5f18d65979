"""The voxel grid of an image file (size, spacing, origin, direction), read from its header alone.

A label belongs to its image voxel for voxel only when both grids are equal; comparing grids lets the annotation
tools report a label on another grid instead of resampling it, which would shift or blur every edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..errors import InputError

# Headers store floats (NIfTI: float32), so equal grids can differ by rounding; these are far below a voxel.
SPACING_ORIGIN_TOLERANCE_MM = 1e-3
DIRECTION_TOLERANCE = 1e-4
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


@dataclass(frozen=True)
class ImageGrid:
    size: tuple[int, ...]  # x, y, z
    spacing: tuple[float, ...]
    origin: tuple[float, ...]  # LPS mm
    direction: tuple[float, ...]  # row-major 3x3, columns = index axes in LPS

    @classmethod
    def of_image(cls, image) -> "ImageGrid":
        """The grid of a SimpleITK image or of an ImageFileReader that has read the header."""
        return cls(tuple(int(n) for n in image.GetSize()), tuple(float(s) for s in image.GetSpacing()),
                   tuple(float(o) for o in image.GetOrigin()), tuple(float(d) for d in image.GetDirection()))

    @classmethod
    def of_file(cls, path: Path) -> "ImageGrid":
        reader = sitk.ImageFileReader()
        reader.SetFileName(str(path))
        try:
            reader.ReadImageInformation()
        except RuntimeError:
            raise InputError(f"{path}: can't be read as an image (NIfTI, NRRD, MetaImage); check the file") from None
        if reader.GetDimension() != 3:
            raise InputError(f"{path}: a {reader.GetDimension()}D image; give 3D volumes")
        return cls.of_image(reader)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape in SimpleITK order (z, y, x)."""
        return tuple(self.size[::-1])

    def differences(self, other: "ImageGrid") -> list[str]:
        """What differs from `other`, one phrase per property ("size 10x10x5 vs 10x10x6"); empty when equal."""
        found = []
        if self.size != other.size:
            found.append(f"size {_text(self.size)} vs {_text(other.size)}")
        for name, tolerance in (("spacing", SPACING_ORIGIN_TOLERANCE_MM), ("origin", SPACING_ORIGIN_TOLERANCE_MM),
                                ("direction", DIRECTION_TOLERANCE)):
            mine, theirs = getattr(self, name), getattr(other, name)
            if not np.allclose(mine, theirs, rtol=0, atol=tolerance):
                found.append(f"{name} {_text(mine)} vs {_text(theirs)}")
        return found

    def image(self, array: np.ndarray) -> sitk.Image:
        """An image of `array` (z, y, x) placed on this grid."""
        if array.shape != self.shape:
            raise ValueError(f"array shape {array.shape} does not fit the grid {self.shape} (z, y, x)")
        image = sitk.GetImageFromArray(array)
        image.SetSpacing(self.spacing)
        image.SetOrigin(self.origin)
        image.SetDirection(self.direction)
        return image

    def ijk_to_ras(self) -> np.ndarray:
        """The 4x4 matrix Slicer uses: voxel index (i, j, k) to RAS millimetres."""
        matrix = np.eye(4)
        matrix[:3, :3] = LPS_TO_RAS @ np.reshape(self.direction, (3, 3)) @ np.diag(self.spacing)
        matrix[:3, 3] = LPS_TO_RAS @ np.asarray(self.origin)
        return matrix


def _text(values) -> str:
    if all(isinstance(v, int) for v in values):
        return "x".join(str(v) for v in values)
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"
