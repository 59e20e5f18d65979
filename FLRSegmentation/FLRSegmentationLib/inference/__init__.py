"""Running a model on a CT: stage I/O, the cascade and E2E engine, the stage predictor and its speed machinery, the
liver locator, post-processing, progress and the `segment` run. Imports `models`, `volumetry` and below.
"""
