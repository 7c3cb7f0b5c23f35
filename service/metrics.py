"""Prometheus metrics of the service and `GET /metrics`, correct across several uvicorn workers.

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

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Request latency on this service spans ~0.5 ms (one series) to ~1 s (10,000 series).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

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
INFERENCE_SECONDS = Histogram(
    "paxcast_inference_duration_seconds",
    "Time a forecast request spends in the model step (batch queue wait and onnxruntime), by model.",
    ["model"],
    buckets=LATENCY_BUCKETS,
)
SERIES = Counter(
    "paxcast_forecast_series_total", "Series forecast (one per series in a successful request), by model.", ["model"]
)
POINTS = Counter("paxcast_forecast_points_total", "Forecast values returned (series x horizon), by model.", ["model"])
# An info-style gauge: Info metrics do not work in multiprocess mode. `livemax` reports 1 for a
# version while any live worker serves it; a worker's values go when it shuts down, or, for
# a worker that was killed, at the next scrape (drop_dead_workers).
MODEL_INFO = Gauge(
    "paxcast_model_info", "The served model version (value 1).", ["name", "version"], multiprocess_mode="livemax"
)
RELOADS = Counter("paxcast_model_reloads_total", "Reloads that switched to a new model version, by model.", ["model"])
RELOAD_FAILURES = Counter(
    "paxcast_model_reload_failures_total",
    "Reloads refused because CURRENT or the new version failed a check, by model.",
    ["model"],
)


@functools.lru_cache(maxsize=1024)  # label sets are bounded: methods x route templates x statuses
def request_children(method: str, route: str, status: int) -> tuple:
    """The labelled children of one (method, route, status): `.labels()` costs a lock and a dict lookup per call."""
    labels = (method, route, str(status))
    return REQUESTS.labels(*labels), REQUEST_SECONDS.labels(*labels)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    count, duration = request_children(method, route, status)
    count.inc()
    duration.observe(seconds)


# Rows per session.run: 1 .. PAXCAST_BATCH_MAX_ROWS; queue waits: microseconds when idle, a run's time under load.
BATCH_ROWS = Histogram(
    "paxcast_batch_rows",
    "Rows per batched session.run, by model.",
    ["model"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)
BATCH_WAIT_SECONDS = Histogram(
    "paxcast_batch_wait_seconds",
    "Time a batch's oldest job waited in the queue, by model (0 for a job run at once).",
    ["model"],
    buckets=(0.0, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)


@functools.lru_cache(maxsize=256)
def model_children(model: str) -> tuple:
    """The per-model children of the forecast and batch metrics, bound once per model."""
    return (
        INFERENCE_SECONDS.labels(model),
        SERIES.labels(model),
        POINTS.labels(model),
        BATCH_ROWS.labels(model),
        BATCH_WAIT_SECONDS.labels(model),
    )


def observe_batch(model: str, rows: int, waited: float) -> None:
    children = model_children(model)
    children[3].observe(rows)
    children[4].observe(waited)


def observe_forecast(model: str, seconds: float, series: int, horizon: int) -> None:
    """One request's batch through onnxruntime: its time, and what it returned."""
    inference, series_total, points_total = model_children(model)[:3]
    inference.observe(seconds)
    series_total.inc(series)
    points_total.inc(series * horizon)


def model_served(name: str, version: str, previous: str | None = None) -> None:
    """Point the info gauge at `version`; the version it replaces drops to 0."""
    if previous is not None and previous != version:
        MODEL_INFO.labels(name, previous).set(0)
    MODEL_INFO.labels(name, version).set(1)


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
    path = tempfile.mkdtemp(prefix="paxcast-metrics-")
    os.environ[MULTIPROC_ENV] = path
    atexit.register(shutil.rmtree, path, ignore_errors=True)


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
