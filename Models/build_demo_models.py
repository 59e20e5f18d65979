#!/usr/bin/env python
"""Regenerate the demo model package Models/demo-phantom (about 2 hours on 2 CPU cores).

    .venv/bin/python Models/build_demo_models.py Models/demo-phantom

Trains the liver, CRLM, FLR and E2E stages with nnunetv2 on synthetic phantoms; see
FLRSegmentationLib/research/demo_models.py for the recipe. The result is for demos and tests only, not for clinical use.
"""

import sys

from FLRSegmentationLib.research.demo_models import main

if __name__ == "__main__":
    sys.exit(main())
