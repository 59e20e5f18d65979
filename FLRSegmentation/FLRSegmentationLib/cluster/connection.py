"""Which Dask cluster a run uses: `local:N` worker processes started here, or a running scheduler's address.

A local cluster listens on 127.0.0.1 only; each worker runs one task at a time (one case) and, on a machine with
GPUs, declares `GPU=1` and is pinned to one of them. A remote scheduler's workers bring their own resources
(`dask worker ADDRESS --resources GPU=1`); tasks ask for a GPU whenever a worker offers one.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

from distributed import Client, LocalCluster

from ..errors import DeviceError, InputError

LOCAL_PREFIX = "local:"
REMOTE_SCHEMES = ("tcp://", "tls://")
DASHBOARD_ADDRESS = "127.0.0.1:8787"
WORKER_WAIT_S = 120


@dataclass(frozen=True)
class ClusterSpec:
    """What --cluster said: `workers` local processes, or the `address` of a running scheduler."""

    text: str
    workers: int = 0
    address: str = ""

    @property
    def local(self) -> bool:
        return self.workers > 0


def parse_cluster(text: str) -> ClusterSpec:
    if text.startswith(LOCAL_PREFIX):
        count = text[len(LOCAL_PREFIX):]
        if count.isdigit() and int(count) >= 1:
            return ClusterSpec(text, workers=int(count))
    elif text.startswith(REMOTE_SCHEMES) and len(text) > 6:
        return ClusterSpec(text, address=text)
    raise InputError(f"--cluster '{text}': give local:N (N worker processes on this machine) or the address of a "
                     f"running Dask scheduler, tcp://HOST:PORT (or tls://HOST:PORT)")


def local_gpus(device: str) -> list[str]:
    """The GPU ids this machine's workers share out one each (CUDA_VISIBLE_DEVICES kept), none for --device cpu."""
    if device == "cpu":
        return []
    import torch

    count = torch.cuda.device_count()
    if count == 0:
        if device == "cuda":
            raise DeviceError(f"--device cuda: PyTorch ({torch.__version__}) sees no CUDA GPU on this machine; "
                              f"use --device cpu or --device auto")
        return []
    visible = [g.strip() for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()]
    return visible[:count] if visible else [str(i) for i in range(count)]


@contextmanager
def dask_client(spec: ClusterSpec, gpus: list[str] = (), verbose: bool = False):
    """A connected Client; a local cluster is shut down (its workers ended) when the block ends."""
    if not spec.local:
        try:
            client = Client(spec.address)  # waits up to Dask's distributed.comm.timeouts.connect (30 s)
        except (OSError, TimeoutError) as exc:
            raise InputError(f"can't reach the Dask scheduler at {spec.address} ({exc}); start one with "
                             f"`dask scheduler` and give the address it prints") from None
        with client:
            _wait_for_workers(client, spec.address)
            yield client
        return
    with warnings.catch_warnings():  # a busy dashboard port: another is taken, and dashboard_line names it
        warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
        cluster = LocalCluster(n_workers=spec.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=DASHBOARD_ADDRESS, resources={"GPU": 1} if gpus else None,
                               silence_logs=logging.INFO if verbose else logging.ERROR)
    with cluster, Client(cluster) as client:
        yield client


def _wait_for_workers(client: Client, address: str) -> None:
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except TimeoutError:
        raise InputError(f"no worker joined the Dask scheduler at {address} within {WORKER_WAIT_S} s; start "
                         f"workers with `dask worker {address} --nthreads 1`") from None


def gpu_resources(client: Client, device: str) -> dict | None:
    """The resources each case asks for: one GPU where the cluster's workers declare GPUs (unless --device cpu)."""
    if device == "cpu":
        return None
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    if any(w.get("resources", {}).get("GPU", 0) >= 1 for w in workers):
        return {"GPU": 1}
    if device == "cuda":
        raise DeviceError("--device cuda: no worker of the cluster declares a GPU; start GPU workers with "
                          "`dask worker ADDRESS --nthreads 1 --resources GPU=1`")
    return None


def dashboard_line(client: Client) -> str:
    """Where the Dask dashboard is, or why there is none (its pages need bokeh where the scheduler runs)."""
    link = client.dashboard_link
    if client.run_on_scheduler(_has_bokeh):
        return f"dask dashboard: {link}"
    return (f"dask dashboard: none (bokeh is not installed where the scheduler runs; pip install bokeh==3.9.2 "
            f"there for the pages at {link})")


def _has_bokeh() -> bool:
    return importlib.util.find_spec("bokeh") is not None
