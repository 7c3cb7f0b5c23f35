"""Export a trained forecaster to one ONNX graph and prove onnxruntime computes what PyTorch does."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from paxcast.service.core.contract import FORECAST, HISTORY, OPSET
from paxcast.service.inference.predictor import make_session, run_session


def export_onnx(model: torch.nn.Module, path: str | Path, window: int) -> Path:
    """Write `model` as ONNX: `history` float32 (batch, window) -> `forecast` float32 (batch, horizon).

    The TorchScript-based exporter (dynamo=False) is used: it handles nn.LSTM/nn.GRU and
    the unrolled peephole loop at opset 17, where the dynamo exporter still has open RNN
    issues upstream (pytorch/pytorch#126339). A batch of 2 keeps the batch axis symbolic.
    """
    import onnx

    path = Path(path)
    model.eval()
    example = torch.full((2, window), 100.0)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's deprecation and RNN-batch notices
        torch.onnx.export(
            model,
            (example,),
            str(path),
            input_names=[HISTORY],
            output_names=[FORECAST],
            dynamic_axes={HISTORY: {0: "batch"}, FORECAST: {0: "batch"}},
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


def parity(model: torch.nn.Module, path: str | Path, histories: np.ndarray) -> float:
    """Largest |onnx - torch| relative to the largest |torch| output per row, over `histories`."""
    ours = run_session(make_session(path), np.ascontiguousarray(histories, dtype=np.float32))
    with torch.no_grad():
        reference = model(torch.from_numpy(histories.astype(np.float32))).numpy()
    scale = np.abs(reference).max(axis=1, keepdims=True).clip(min=1e-6)
    return float((np.abs(ours - reference) / scale).max())
