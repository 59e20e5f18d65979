"""The `flrseg` command: argparse only, one module per command group, each calling the subpackages.

It may import every subpackage; nothing imports it (`python -m FLRSegmentationLib.cli` runs `main`).
"""
