"""SwinUNETR stages, built on MONAI's network (monai.networks.nets.SwinUNETR): the network for a stage's plans,
its memory estimate, and MONAI's self-supervised Swin encoder as a starting point. Imports only
`models.checkpoint`, `models.stunet.memory` and `errors`.
"""
