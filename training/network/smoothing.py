"""Local forecasts of one window as fixed linear maps: additive Holt-Winters with fixed smoothing, and a
least-squares line with a fixed season.

With its parameters fixed, additive exponential smoothing is a linear filter: every forecast is a weighted
sum of the window's values. `local_weights` runs each method once per unit impulse and returns those weights,
`(methods, horizon, length)`, so the graph forecasts the window by every method with one MatMul
(`GlobalForecaster`, `local_forecasts`). Each row sums to 1, so a constant window is forecast as that
constant and the maps commute with the graph's centring and scaling.

A local statistical fit (ETS, Theta) beats a network trained on tourism on smooth series by an order of
magnitude (austres: 0.07 MASE against 0.56, docs/accuracy.md); the network cannot fit a series' own
parameters at request time, but it can read how well each of a few fixed ones did on the window's own last
horizon and weigh them (FFORMA, Montero-Manso et al. 2020, weighs fitted methods by a global model the same way).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn


class Smoothing(NamedTuple):
    """Additive Holt-Winters: level, trend and season smoothing, and the trend's damping (1: none)."""

    alpha: float
    beta: float
    gamma: float
    phi: float


# Fixed a priori to span slow to fast levels, no/steady/damped trends; not tuned on any series.
METHODS = (
    Smoothing(0.1, 0.01, 0.1, 1.0),  # slow level, steady trend: a smooth, growing series
    Smoothing(0.3, 0.05, 0.1, 0.98),
    Smoothing(0.2, 0.1, 0.1, 0.9),  # damped trend
    Smoothing(0.5, 0.0, 0.2, 1.0),  # no trend, a level that follows
    Smoothing(0.8, 0.1, 0.1, 0.95),  # fast level
)
# The least-squares line through the window with one additive offset per season position: the method
# that fits a steady trend with a fixed season exactly.
LINE = "line"


def local_weights(length: int, horizon: int, season: int) -> np.ndarray:
    """(len(METHODS) + 1, horizon, length) float32: row [k, h] weighs the window's values into method k's
    forecast of step h + 1 after the window; the last method is the seasonal line."""
    impulses = np.eye(length)  # column j: the window that is 1 at position j and 0 elsewhere
    maps = [holt_winters(impulses, horizon, season, method) for method in METHODS]
    maps.append(seasonal_line(length, horizon, season))
    return np.stack(maps).astype(np.float32)


def holt_winters(y: np.ndarray, horizon: int, season: int, method: Smoothing) -> np.ndarray:
    """(horizon, columns): additive Holt-Winters forecasts of each column of `y (length, columns)`.

    Initial level: the first season's mean; initial season: the first season less that mean; initial trend:
    the change between the first two seasons' means per step (0 if the window holds under two seasons)."""
    a, b, g, phi = method
    m = season
    level = y[:m].mean(axis=0)
    trend = (y[m : 2 * m].mean(axis=0) - level) / m if len(y) >= 2 * m else np.zeros_like(level)
    seasonal = list(y[:m] - level)  # seasonal[t] for t < m, appended as t advances
    for t in range(m, len(y)):
        previous = level + phi * trend
        level = a * (y[t] - seasonal[t - m]) + (1 - a) * previous
        trend = b * (level - previous + phi * trend) + (1 - b) * phi * trend
        seasonal.append(g * (y[t] - previous) + (1 - g) * seasonal[t - m])
    n = len(y)
    damped = np.cumsum(phi ** np.arange(1, horizon + 1))  # phi + phi^2 + ... + phi^h
    return np.stack([level + damped[h] * trend + seasonal[n - m + h % m] for h in range(horizon)])


def seasonal_line(length: int, horizon: int, season: int) -> np.ndarray:
    """(horizon, length): least squares of the window on a line plus one offset per season position,
    extrapolated. A window shorter than two seasons cannot separate trend from season: the line is flat."""
    t = np.arange(length + horizon)
    positions = (t - length) % season  # the horizon's first step is position 0
    design = np.eye(season)[positions]
    if length >= 2 * season:
        design = np.column_stack([design, (t - length) / season])
    fitted, ahead = design[:length], design[length:]
    return ahead @ np.linalg.pinv(fitted)


def held_out(n: int, horizon: int, season: int) -> int:
    """How many of the last values of an n-value history the methods are scored on: a horizon, or fewer so
    that two seasons stay to fit them from (under two seasons every method is seasonal naive); 0: none."""
    return max(0, min(horizon, n - 2 * season))


def window_maps(window: int, shortest: int, horizon: int, season: int) -> tuple[np.ndarray, ...]:
    """The maps for every observed length n from `shortest` to `window`, reading only the n observed values at
    the window's end (a padded window's padding gets weight 0):
    ahead (lengths, K, horizon, window): each method's forecast of the horizon;
    behind (lengths, K + 1, scored, window), scored = held_out(window): seasonal naive's and each method's
    forecast of the window's last held_out(n) values from the values before them, in the last rows;
    scored_steps (lengths, scored): 1 where a row of `behind` forecasts a value, 0 where n holds too few."""
    lengths = range(shortest, window + 1)
    scored = held_out(window, horizon, season)
    ahead = np.zeros((len(lengths), len(METHODS) + 1, horizon, window), np.float32)
    behind = np.zeros((len(lengths), len(METHODS) + 2, scored, window), np.float32)
    scored_steps = np.zeros((len(lengths), scored), np.float32)
    for i, n in enumerate(lengths):
        ahead[i, :, :, window - n :] = local_weights(n, horizon, season)
        held = held_out(n, horizon, season)
        if not held:
            continue
        steps = slice(scored - held, scored)
        behind[i, 1:, steps, window - n : window - held] = local_weights(n - held, held, season)
        for j in range(held):  # seasonal naive: the same season position in the last season before them
            behind[i, 0, scored - held + j, window - held - season + j % season] = 1.0
        scored_steps[i, steps] = 1.0
    return ahead, behind, scored_steps


class LocalForecasts(nn.Module):
    """What a head reads about the local methods of one window: each method's forecast less seasonal naive
    (B, H, K), and (B, H, K + 2) the share of the window's last `scored` values the methods were scored on, then
    seasonal naive's and each method's mean |error| on them, capped at 10 so one wild method cannot swamp the
    head. Windows are in the graph's scaled units (centred, over their seasonal-naive MAE), so the errors are too.
    """

    def __init__(self, window: int, shortest: int, horizon: int, season: int):
        super().__init__()
        self.shortest, self.horizon = shortest, horizon
        ahead, behind, scored_steps = (torch.from_numpy(m) for m in window_maps(window, shortest, horizon, season))
        self.register_buffer("ahead", ahead.flatten(1, 2), persistent=False)  # (lengths, K * H, W)
        self.register_buffer("behind", behind.flatten(1, 2), persistent=False)  # (lengths, (K + 1) * scored, W)
        self.register_buffer("scored_steps", scored_steps, persistent=False)  # (lengths, scored)
        self.methods = len(METHODS) + 1

    def forward(self, x: torch.Tensor, base: torch.Tensor, count: torch.Tensor):
        """x (B, W) scaled, padding 0; base (B, H) seasonal naive; count (B, 1) observed values."""
        n, scored = x.shape[0], self.scored_steps.shape[1]
        length = (count[:, 0] - self.shortest).clamp(0, self.ahead.shape[0] - 1).long()  # (B,)
        column = x.unsqueeze(-1)  # (B, W, 1)
        forecasts = torch.bmm(self.ahead[length], column).reshape(n, self.methods, self.horizon).transpose(1, 2)
        backcasts = torch.bmm(self.behind[length], column).reshape(n, self.methods + 1, scored)
        steps = self.scored_steps[length]  # (B, scored)
        errors = (backcasts - x[:, x.shape[1] - scored :].unsqueeze(1)).abs() * steps.unsqueeze(1)
        held = steps.sum(dim=1, keepdim=True)  # (B, 1)
        scores = (errors.sum(dim=-1) / held.clamp_min(1.0)).clamp_max(10.0)  # (B, K + 1)
        facts = torch.cat([held / scored, scores], dim=-1).unsqueeze(1).expand(-1, self.horizon, -1)
        return forecasts - base.unsqueeze(-1), facts
