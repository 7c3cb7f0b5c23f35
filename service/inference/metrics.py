"""The model's Prometheus metrics: time in the model step, series and points answered, batch sizes and waits,
the version served and its reloads, by model. `paxcast.service.api.metrics` exposes them with the HTTP ones."""

from __future__ import annotations

import functools
import os

from prometheus_client import Counter, Gauge, Histogram

# prometheus-client keeps each worker's values in files in this directory when it is set (api/metrics.py).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Request latency on this service spans ~0.5 ms (one series) to ~1 s (10,000 series).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

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
    """Point the info gauge of model `name` at `version`; the label set of the version it replaces goes.

    In multiprocess mode prometheus-client cannot remove a label set (the value stays in the worker's
    file), so there it drops to 0; in one process it is removed and the model keeps exactly one line.
    """
    if previous is not None and previous != version:
        MODEL_INFO.labels(name, previous).set(0)
        if not os.environ.get(MULTIPROC_ENV):
            MODEL_INFO.remove(name, previous)
    MODEL_INFO.labels(name, version).set(1)
