"""Export a trained forecaster, per-series or global, to one ONNX graph and prove onnxruntime computes what
PyTorch does."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from paxcast.service.core.contract import CALENDAR, FORECAST, HISTORY, OPSET
from paxcast.service.core.hyperparameters import ForecasterConfig, GlobalTrainConfig
from paxcast.service.inference.predictor import make_session, run_session


def export_onnx(model: torch.nn.Module, path: str | Path, config: ForecasterConfig | GlobalTrainConfig) -> Path:
    """Write `model` as ONNX: `history` float32 (batch, window) -> `forecast` float32 (batch, horizon); a global
    model (`GlobalTrainConfig`) also reads `calendar` float32 (batch, window + horizon, features).

    The TorchScript-based exporter (dynamo=False) is used: it handles nn.LSTM/nn.GRU and
    the unrolled peephole loop at opset 17, where the dynamo exporter still has open RNN
    issues upstream (pytorch/pytorch#126339). A batch of 2 keeps the batch axis symbolic.
    """
    import onnx

    path, c = Path(path), config
    model.eval()
    example = (torch.full((2, c.window), 100.0),)
    names = [HISTORY]
    if isinstance(c, GlobalTrainConfig):
        example += (torch.zeros(2, c.window + c.horizon, c.features),)
        names.append(CALENDAR)
        if c.pads:
            example[0][1, : c.window - c.shortest] = float("nan")  # trace the masked path with a padded row
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's deprecation and RNN-batch notices
        torch.onnx.export(
            model,
            example,
            str(path),
            input_names=names,
            output_names=[FORECAST],
            dynamic_axes={**{name: {0: "batch"} for name in names}, FORECAST: {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return path


def sample_histories(y: np.ndarray, window: int, n: int, seed: int = 0) -> np.ndarray:
    """`n` valid, varied histories (n, window): windows of `y`, rescaled and jittered, all positive."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(y) - window + 1, size=n)
    base = y[starts[:, None] + np.arange(window)]
    scale = rng.uniform(0.2, 5.0, size=(n, 1))
    noise = rng.lognormal(0.0, 0.05, size=(n, window))
    return (base * scale * noise).astype(np.float32)


def parity(model: torch.nn.Module, path: str | Path, history: np.ndarray, calendar: np.ndarray | None = None) -> float:
    """Largest |onnx - torch| relative to the largest |torch| output per row, over `history` (batch, window)
    and, for a global model, its `calendar` (batch, window + horizon, features)."""
    inputs = [np.ascontiguousarray(x, dtype=np.float32) for x in (history, calendar) if x is not None]
    ours = run_session(make_session(path), *inputs)
    with torch.no_grad():
        reference = model(*(torch.from_numpy(x) for x in inputs)).numpy()
    scale = np.abs(reference).max(axis=1, keepdims=True).clip(min=1e-6)
    return float((np.abs(ours - reference) / scale).max())
