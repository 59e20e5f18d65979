"""FLR Segmentation engine: cascade inference, model packages, volumetry. Plain Python, no Slicer import."""

__version__ = "0.1.0"
