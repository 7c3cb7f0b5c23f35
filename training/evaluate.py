"""Forecast with an exported model through onnxruntime: what is measured is what is served."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort


def onnx_forecast(onnx_path: str | Path, histories: np.ndarray) -> np.ndarray:
    """Run `model.onnx` on histories (batch, >= window) and return forecasts (batch, horizon).

    Histories are cut to the graph's window, as the service does.
    """
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    window = session.get_inputs()[0].shape[1]
    x = np.ascontiguousarray(np.atleast_2d(histories)[:, -window:], dtype=np.float32)
    (forecast,) = session.run(["forecast"], {"history": x})
    return forecast.astype(np.float64)


def single_series_latency(onnx_path: str | Path, history: np.ndarray, repeats: int = 300) -> dict:
    """Median and p99 wall time of one-series forecasts, in microseconds, with the service's session options."""
    import time

    from paxcast.service.predictor import make_session

    session = make_session(Path(onnx_path), threads=1)
    window = session.get_inputs()[0].shape[1]
    x = np.ascontiguousarray(np.asarray(history, dtype=np.float32)[-window:][None])
    for _ in range(20):  # warm-up: first runs allocate
        session.run(["forecast"], {"history": x})
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        session.run(["forecast"], {"history": x})
        times.append(time.perf_counter() - started)
    return {"p50_us": float(np.median(times) * 1e6), "p99_us": float(np.percentile(times, 99) * 1e6)}
