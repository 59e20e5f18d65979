"""`flrseg evaluate --cluster`: the same scores, each (prediction set, case) scored on a worker (HD95 is slow).

Every grid is still checked on the client from the headers before any case is sent; a case that can't be scored
stops the run with its one-line error, as it does without a cluster.
"""

from __future__ import annotations

from pathlib import Path

from ..research.evaluation import evaluate
from .connection import ClusterSpec, dashboard_line, dask_client


def evaluate_on_cluster(spec: ClusterSpec, ref_dir: Path, prediction_dirs: dict[str, Path], notify=print,
                        verbose: bool = False):
    """evaluate()'s (scores, notes), with the scoring spread over the cluster's workers."""
    with dask_client(spec, verbose=verbose) as client:
        notify(dashboard_line(client))

        def map_cases(function, *arguments):
            return client.gather(client.map(function, *arguments, pure=False))

        return evaluate(ref_dir, prediction_dirs, map_cases=map_cases)
