"""Model packages and what they hold: manifests and checkpoints, the network builders (nnU-Net, STU-Net), and our
nnU-Net trainers. Imports `imaging`, `vocabulary` and `errors`; never `inference` or anything above it.
"""
