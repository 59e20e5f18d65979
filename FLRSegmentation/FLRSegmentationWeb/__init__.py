"""The planning workflow in a browser (`flrseg serve`): trame-slicer views and segment editor over the module's logic.

Layout, event binding and serving only: it imports FLRSegmentationModuleLib (never its widgets) and
FLRSegmentationLib (never its cli); nothing imports it (the engine's CLI finds its command by name).
"""
