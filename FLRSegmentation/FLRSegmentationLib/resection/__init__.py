"""Virtual resection: the plan file, plane and bicubic Bezier cut surfaces, removed and remnant masks, tumour margins,
initial placement, the surface mesh and the `resect` run. Imports `volumetry`, `imaging`, `vocabulary` and `errors`;
never `inference` or above.
"""
