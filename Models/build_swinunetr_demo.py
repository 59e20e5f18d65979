#!/usr/bin/env python
"""Regenerate the mixed demo package Models/demo-phantom-swinunetr (nnU-Net liver, STU-Net CRLM, SwinUNETR FLR).

    .venv/bin/python Models/build_swinunetr_demo.py Models/demo-phantom-swinunetr

Copies the liver and CRLM stages of Models/demo-phantom-stunet and trains a SwinUNETR FLR stage (MONAI, feature
size 12) on the same phantoms with nnunetv2; see FLRSegmentationLib/research/swinunetr_demo.py for the recipe. For
demos and tests only, not for clinical use.
"""

import sys

from FLRSegmentationLib.research.swinunetr_demo import main

if __name__ == "__main__":
    sys.exit(main())
