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
