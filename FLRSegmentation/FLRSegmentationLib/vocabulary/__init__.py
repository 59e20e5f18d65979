"""The project's shared vocabulary: label values, the stages and strategies, the segments with their codes.

The ground floor: it imports only `errors` (and numpy), and every other subpackage may import it.
"""
