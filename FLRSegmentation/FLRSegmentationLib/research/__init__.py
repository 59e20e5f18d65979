"""Building and checking models: the TCIA reader, nnU-Net datasets and commands, training, export, evaluation,
phantoms and the demo-model recipes. Imports `inference` and below; never `annotation` or `cli`.
"""
