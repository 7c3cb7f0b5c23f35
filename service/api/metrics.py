"""The HTTP Prometheus metrics, and `GET /metrics` with the model's (`inference.metrics`), correct across several
uvicorn workers.

With `PROMETHEUS_MULTIPROC_DIR` set (`paxcast serve` sets it when PAXCAST_WORKERS > 1),
prometheus-client keeps every worker's values in memory-mapped files in that directory
and `/metrics` adds them up, so whichever worker answers the scrape reports all of them.
The variable must be set before prometheus_client is first imported in a worker process;
uvicorn's workers are fresh (spawned) interpreters that inherit it.
"""

from __future__ import annotations

import atexit
import functools
import glob
import multiprocessing
import os
import re
import shutil
import tempfile

from fastapi import APIRouter
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.responses import Response

from paxcast.service.inference.metrics import LATENCY_BUCKETS, MULTIPROC_ENV

REQUESTS = Counter(
    "paxcast_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "paxcast_http_request_duration_seconds",
    "Time from request start to the last byte of the response, by method, route template and status.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
DROPPED_ROWS = Counter(
    "paxcast_store_dropped_rows_total",
    "Served forecast rows not logged to the store: its writer's queue was full, the store failed, or shutdown came.",
)


# Live accuracy by model and version (api/live_accuracy.py), over the last PAXCAST_LIVE_DAYS days of the store.
# Every worker computes the same numbers from the one store, so in multiprocess mode a worker's value is not
# a share to add up (sum) nor an extreme to keep (max would pin a stale high): `livemostrecent` reports the
# value the most recent refresh wrote, from live workers only (a dead worker's file goes, drop_dead_workers).
LIVE_LABELS = ["model", "version"]
LIVE_WAPE = Gauge(
    "paxcast_live_wape", "Live pooled WAPE of logged forecasts.", LIVE_LABELS, multiprocess_mode="livemostrecent"
)
LIVE_MASE = Gauge("paxcast_live_mase", "Live mean MASE over series.", LIVE_LABELS, multiprocess_mode="livemostrecent")
LIVE_COVERAGE = Gauge(
    "paxcast_live_coverage",
    "Live share of actuals inside the logged interval, by level.",
    [*LIVE_LABELS, "level"],
    multiprocess_mode="livemostrecent",
)
LIVE_NAIVE_WAPE = Gauge(
    "paxcast_live_naive_wape",
    "Seasonal naive's live pooled WAPE on the same points.",
    LIVE_LABELS,
    multiprocess_mode="livemostrecent",
)
LIVE_SCORED = Counter(
    "paxcast_live_scored_points",
    "Logged forecast steps matched by posted actuals (a replaced actual scores its forecasts again).",
    LIVE_LABELS,
)


@functools.lru_cache(maxsize=1024)  # label sets are bounded: methods x route templates x statuses
def request_children(method: str, route: str, status: int) -> tuple:
    """The labelled children of one (method, route, status): `.labels()` costs a lock and a dict lookup per call."""
    labels = (method, route, str(status))
    return REQUESTS.labels(*labels), REQUEST_SECONDS.labels(*labels)


# "-": a request refused before its method was read (a slow, oversized or malformed head, http_protocol.py).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "-"})


def method_label(method: str) -> str:
    """The method as a label: any other (a fuzzer's `FUZZ123`) is "other", so label sets stay bounded."""
    return method if method in METHODS else "other"


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    method = method_label(method)
    count, duration = request_children(method, route, status)
    count.inc()
    duration.observe(seconds)


def worker_stopped(pid: int) -> None:
    """Drop a stopped worker's live gauges (its counters keep counting in the totals)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)


LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def drop_dead_workers(path: str) -> list[int]:
    """Drop the live gauges of workers that died without shutting down; return their pids.

    A SIGKILLed (or OOM-killed) worker never runs its shutdown, so its gauge file stayed,
    and uvicorn's replacement worker writes a file of its own: after the next model switch
    `paxcast_model_info` showed the old version at 1 for ever. Workers are this host's
    processes, so a pid that no longer exists is a dead worker.
    """
    dead = set()
    for file in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        match = LIVE_GAUGE_FILE.fullmatch(os.path.basename(file))
        if match and not alive(int(match.group(1))):
            dead.add(int(match.group(1)))
    for pid in dead:
        multiprocess.mark_process_dead(pid, path)
    return sorted(dead)


STALE_DIRECTORY = re.compile(r"paxcast-metrics-(\d+)-.+")


def drop_stale_directories(parent: str) -> list[str]:
    """Remove the metrics directories of supervisors that died without cleaning up (SIGKILL)."""
    dropped = []
    for entry in os.scandir(parent):
        match = STALE_DIRECTORY.fullmatch(entry.name)
        if match and entry.is_dir(follow_symlinks=False) and not alive(int(match.group(1))):
            shutil.rmtree(entry.path, ignore_errors=True)
            dropped.append(entry.name)
    return dropped


def prepare_multiprocess(workers: int) -> None:
    """Before uvicorn spawns `workers` > 1 processes: give them a fresh metrics directory.

    A directory the caller set in PROMETHEUS_MULTIPROC_DIR is used as it is (clearing it
    between runs is then the caller's job); otherwise a private one is made and removed
    when this process exits. The supervising process serves nothing, so the live gauge
    its start-up model check may have written there is dropped.
    """
    if workers <= 1:
        return
    if os.environ.get(MULTIPROC_ENV):
        os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)
        worker_stopped(os.getpid())
        return
    drop_stale_directories(tempfile.gettempdir())
    path = tempfile.mkdtemp(prefix=f"paxcast-metrics-{os.getpid()}-")
    os.environ[MULTIPROC_ENV] = path
    atexit.register(shutil.rmtree, path, ignore_errors=True)


def remove_if_orphaned() -> None:
    """At a worker's shutdown: when the supervisor that spawned it is dead (SIGKILLed, it ran no atexit),
    remove the metrics directory it made for its workers. Every worker tries; one removal is enough."""
    supervisor = multiprocessing.parent_process()
    path = os.environ.get(MULTIPROC_ENV, "")
    if supervisor is None or os.getppid() == supervisor.pid:
        return
    if os.path.basename(path).startswith(f"paxcast-metrics-{supervisor.pid}-"):
        shutil.rmtree(path, ignore_errors=True)


def exposition() -> bytes:
    """The metrics in Prometheus text format: all workers' when in multiprocess mode."""
    if path := os.environ.get(MULTIPROC_ENV):
        drop_dead_workers(path)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        try:
            return generate_latest(registry)
        except FileNotFoundError:  # another worker's scrape dropped a dead worker's file under us
            return generate_latest(registry)
    return generate_latest(REGISTRY)


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """Prometheus scrape endpoint (a plain def: reading the worker files is blocking I/O)."""
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
