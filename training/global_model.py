"""The global, calendar-aware forecaster: one network for every station of a network.

`GlobalForecaster` maps `history (B, W)` and `calendar (B, W+H, F)` (the future-known covariates
of `paxcast.service.covariates` for the history and the horizon) to `forecast (B, H)`. It scales
each window by its mean |value| (zeros allowed), encodes the history and its covariates with an
LSTM, and a per-step MLP head that sees the encoding, the horizon's covariates and a weekly
seasonal-naive baseline adds a correction to that baseline. The head's last layer starts at
zero, so the untrained network *is* seasonal naive. `WindowSampler` draws training windows
uniformly per series (no station dominates) without materialising them all.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from paxcast.service.contract import CALENDAR, FORECAST, HISTORY, OPSET, GlobalTrainConfig
from paxcast.service.predictor import make_session, run_session

INPUTS, OUTPUT = (HISTORY, CALENDAR), FORECAST


class GlobalForecaster(nn.Module):
    def __init__(self, config: GlobalTrainConfig):
        super().__init__()
        c = self.config = config
        # The encoder steps through the history one segment of `patch` values at a time (SegRNN, Lin et al.
        # 2023): two weeks of hours are 14 recurrent steps of 24 values instead of 336 steps of one.
        self.encoder = nn.LSTM(c.patch + c.features, c.hidden, num_layers=c.layers, batch_first=True)
        self.head = nn.Sequential(nn.Linear(c.hidden + c.features + 1, c.hidden), nn.ReLU(), nn.Linear(c.hidden, 1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)
        reps = -(-c.horizon // c.season)
        # Which history position each horizon step copies: the same weekday of the last season.
        self.register_buffer(
            "lag_index", torch.arange(c.window - c.season, c.window).repeat(reps)[: c.horizon], persistent=False
        )

    def forward(self, history: torch.Tensor, calendar: torch.Tensor) -> torch.Tensor:
        c = self.config
        level = history.abs().mean(dim=1, keepdim=True).clamp_min(c.eps)  # (B, 1)
        x = history / level  # (B, W)
        base = x[:, self.lag_index]  # (B, H) seasonal naive on the scaled values
        past, future = calendar[:, : c.window], calendar[:, c.window :]  # (B, W, F), (B, H, F)
        segments = c.window // c.patch
        values = x.reshape(-1, segments, c.patch)  # (B, S, patch)
        # Each segment's covariates are those of its last step (a segment's weekday, hour and holiday flags).
        marks = past[:, c.patch - 1 :: c.patch]  # (B, S, F)
        _, (h, _) = self.encoder(torch.cat([values, marks], dim=-1))
        context = h[-1].unsqueeze(1).expand(-1, c.horizon, -1)  # (B, H, hidden)
        correction = self.head(torch.cat([context, future, base.unsqueeze(-1)], dim=-1)).squeeze(-1)  # (B, H)
        return (base + correction) * level


class WindowSampler:
    """Training windows drawn uniformly per series, then uniformly in time within it.

    Args:
        values: one (t_i,) float array per series (NaN = missing).
        offsets: each series' first timestamp as an index into `calendar`.
        calendar: (T, F) float32 covariates of the whole timeline the series share.
    Windows whose history has a NaN are redrawn; NaN targets stay NaN (masked in the loss).
    """

    def __init__(
        self,
        values: list[np.ndarray],
        offsets: list[int],
        calendar: np.ndarray,
        window: int,
        horizon: int,
        seed: int = 0,
    ):
        self.values, self.offsets, self.calendar = values, np.asarray(offsets), calendar
        self.window, self.horizon = window, horizon
        self.last_start = np.array([len(v) - window - horizon for v in values])
        self.usable = np.flatnonzero(self.last_start >= 0)
        if not len(self.usable):
            raise ValueError(f"no series has {window + horizon} values for one window")
        self.rng = np.random.default_rng(seed)

    def sample(self, batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """history (batch, W), calendar (batch, W+H, F), target (batch, H)."""
        W, H = self.window, self.horizon
        history, calendar, target = (
            np.empty((batch, W), np.float32),
            np.empty((batch, W + H, self.calendar.shape[1]), np.float32),
            np.empty((batch, H), np.float32),
        )
        filled = 0
        while filled < batch:
            k = self.rng.choice(self.usable)
            t = self.rng.integers(0, self.last_start[k] + 1)
            piece = self.values[k][t : t + W + H]
            if np.isnan(piece[:W]).any():
                continue
            history[filled], target[filled] = piece[:W], piece[W:]
            calendar[filled] = self.calendar[self.offsets[k] + t : self.offsets[k] + t + W + H]
            filled += 1
        return history, calendar, target


def export_onnx(model: GlobalForecaster, path: str | Path) -> Path:
    """One graph: `history` (batch, W) and `calendar` (batch, W+H, F) float32 -> `forecast` (batch, H).

    TorchScript exporter (dynamo=False), opset 17, as training/export.py does for the same reasons."""
    import onnx

    c, path = model.config, Path(path)
    model.eval()
    example = (torch.full((2, c.window), 100.0), torch.zeros(2, c.window + c.horizon, c.features))
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            example,
            str(path),
            input_names=list(INPUTS),
            output_names=[OUTPUT],
            opset_version=OPSET,
            dynamo=False,
            dynamic_axes={INPUTS[0]: {0: "batch"}, INPUTS[1]: {0: "batch"}, OUTPUT: {0: "batch"}},
        )
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return path


def parity(model: GlobalForecaster, path: str | Path, history: np.ndarray, calendar: np.ndarray) -> float:
    """Largest |onnx - torch| relative to each row's largest |torch| output."""
    ours = run_session(make_session(path), history.astype(np.float32), calendar.astype(np.float32))
    with torch.no_grad():
        reference = model(
            torch.from_numpy(history.astype(np.float32)), torch.from_numpy(calendar.astype(np.float32))
        ).numpy()
    return float((np.abs(ours - reference) / np.abs(reference).max(axis=1, keepdims=True).clip(min=1e-6)).max())
