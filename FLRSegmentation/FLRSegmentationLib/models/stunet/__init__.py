"""STU-Net, written from its published description: the network, its memory estimate, and pretrained weights for
a cascade stage. Imports only `models.checkpoint` and `errors`.
"""
