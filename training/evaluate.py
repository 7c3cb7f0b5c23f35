"""Forecast with an exported model through onnxruntime with the service's session: what is measured is served."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from paxcast.service.inference.predictor import make_session, run_session


def onnx_forecast(onnx_path: str | Path, histories: np.ndarray) -> np.ndarray:
    """Run `model.onnx` on histories (batch, >= window) and return forecasts (batch, horizon), float64.

    Histories are cut to the graph's window, as the service does.
    """
    session = make_session(onnx_path)
    window = session.get_inputs()[0].shape[1]
    x = np.ascontiguousarray(np.atleast_2d(histories)[:, -window:], dtype=np.float32)
    return run_session(session, x).astype(np.float64)


def single_series_latency(onnx_path: str | Path, history: np.ndarray, repeats: int = 300) -> dict:
    """Median and p99 wall time of one-series forecasts, in microseconds, with the service's session options."""
    session = make_session(onnx_path, threads=1)
    window = session.get_inputs()[0].shape[1]
    x = np.ascontiguousarray(np.asarray(history, dtype=np.float32)[-window:][None])
    for _ in range(20):  # warm-up: first runs allocate
        run_session(session, x)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run_session(session, x)
        times.append(time.perf_counter() - started)
    return {"p50_us": float(np.median(times) * 1e6), "p99_us": float(np.percentile(times, 99) * 1e6)}
