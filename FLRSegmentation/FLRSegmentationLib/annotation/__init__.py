"""The annotator's datasets: layouts, label files, the progress store and saving labels back.

Imports `inference` and below; never `research` or `cli`.
"""
