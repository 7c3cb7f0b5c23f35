"""Prediction intervals from a card's calibration: split-conformal quantiles of relative errors.

The service's `Predictor.finish` calls `interval_quantiles` and `bounds`; `paxcast backtest` scores the
bands that Predictor returns, so what a backtest scores is what the service returns.
"""

from __future__ import annotations

import warnings

import numpy as np


def bounds(mean: np.ndarray, quantiles: np.ndarray, scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """mean -+ scale * q per step; `scale` is |mean| unless given (a global model's (batch, 1) window levels);
    `quantiles` may cover more steps than `mean` has."""
    with np.errstate(over="ignore", invalid="ignore"):  # bounds beyond float32 are refused by predictor.check_finite
        scale = np.abs(mean) if scale is None else scale.astype(mean.dtype)
        half = scale * quantiles[: mean.shape[-1]].astype(mean.dtype)
        return mean - half, mean + half


# The smallest seasonal-naive MAE, relative to the window's mean |value|, that a "mase" scale takes:
# well below the smoothest real series seen (an estimated resident population, 0.5-1 % a year). The graph
# divides by the same floor (`GlobalForecaster.seasonal_spread`), and every exported graph has it built in:
# changing it would make the bands of models already shipped disagree with their graphs.
SPREAD_FLOOR = 1e-3


def window_scale(x: np.ndarray, kind: str, season: int, eps: float) -> np.ndarray:
    """(batch, 1): what a global model's intervals scale with, per history row (batch, window), NaN padding allowed.

    `kind` "level": the window's mean |value|. "mase": its mean |x[t] - x[t - season]|, seasonal naive's
    own error inside the window, so a smooth series gets a narrow band and a noisy one a wide band (scaled
    by the level, a general model's bands covered 99-100 % of six smooth unseen series), floored at
    SPREAD_FLOOR x the level, as the graph floors it: a constant window still gets a band. At least `eps`;
    training leaves windows at that floor (level x 1e-3 <= eps: all zeros, or tiny values) out of the loss
    and the calibration. Training (the loss's scale, the calibration) and the service both call this.
    """
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row: no scale, the floor below
        level = np.nan_to_num(np.nanmean(np.abs(x), axis=1, keepdims=True), nan=0.0)
        if kind != "mase":
            return level.clip(min=eps)
        spread = np.nanmean(np.abs(x[:, season:] - x[:, :-season]), axis=1, keepdims=True)
    return np.maximum(np.nan_to_num(spread, nan=0.0), SPREAD_FLOOR * level).clip(min=eps)


def interval_quantiles(
    relative_errors: list[list[float]], level: float, tail: str | None = None, monotone: bool = True
) -> np.ndarray:
    """Relative half-width per step (steps,) at `level` percent.

    `relative_errors[h]` are out-of-sample |actual - forecast| / |forecast| at step h,
    measured inside the training data; their quantile at `level` scales with each
    forecast, so one calibration serves any series' size. The quantile is the
    split-conformal one; with `tail="exponential"` it is at least the exponential
    distribution's quantile for the scores' mean, -ln(1 - level) * mean: a handful of
    overlapping inner forecasts says little about a 95 % tail on its own. With `monotone`,
    across steps the quantile never shrinks: a later step is at least as uncertain as an
    earlier one, even where its few scores happen to be smaller.
    """
    coverage = level / 100.0
    q = np.array([conformal_quantile(step, coverage) for step in relative_errors])
    if tail == "exponential":
        q = np.maximum(q, -np.log1p(-coverage) * np.array([np.mean(step) for step in relative_errors]))
    return np.maximum.accumulate(q) if monotone else q


def conformal_quantile(scores: list[float], coverage: float) -> float:
    """The ceil((n + 1) * coverage)-th smallest score (split conformal); the largest if that overshoots."""
    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    rank = int(np.ceil((len(ordered) + 1) * coverage))
    return float(ordered[min(max(rank, 1), len(ordered)) - 1])
