"""FLR Segmentation engine: cascade inference, model packages, volumetry. Plain Python, no Slicer import.

One subpackage per job (vocabulary, imaging, models, volumetry, inference, research, annotation, cli); the arrows
between them are the import-linter contracts in pyproject.toml.
"""

__version__ = "0.1.0"
