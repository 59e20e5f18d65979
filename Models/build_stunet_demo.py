#!/usr/bin/env python
"""Regenerate the mixed demo package Models/demo-phantom-stunet (nnU-Net liver and FLR, STU-Net CRLM).

    .venv/bin/python Models/build_stunet_demo.py Models/demo-phantom-stunet

Reuses the liver and FLR stages of Models/demo-phantom and trains a tiny STU-Net CRLM stage on the same phantoms
with nnunetv2; see FLRSegmentationLib/research/stunet_demo.py for the recipe. For demos and tests only, not for
clinical use.
"""

import sys

from FLRSegmentationLib.research.stunet_demo import main

if __name__ == "__main__":
    sys.exit(main())
