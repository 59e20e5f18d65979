"""The module's GUI sections (`*_widget.py`) and their Qt helpers: the only place that imports qt, ctk or the
slicer.util GUI helpers. They bind widgets to the logic in FLRSegmentationModuleLib; nothing there imports them.
"""
