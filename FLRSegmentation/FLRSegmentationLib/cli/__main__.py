"""`python -m FLRSegmentationLib.cli`: the `flrseg` command, as the Slicer module starts it."""

import sys

from .main import main

sys.exit(main())
