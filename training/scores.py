"""How a multi-series backtest scores a method: pooled WAPE, per-series MASE, interval coverage and width.

Everything is on observed actuals only (NaN actuals are skipped). Forecasts and actuals are
(series, horizon); the same function scores one origin or several stacked, so a pooled summary
is the score of all origins' rows together.
"""

from __future__ import annotations

import numpy as np


def mase_scale(history: np.ndarray, season: int) -> float:
    """Mean |y_t - y_{t-season}| over the history's observed pairs; NaN without one."""
    d = np.abs(history[season:] - history[:-season])
    return float(np.nanmean(d)) if np.isfinite(d).any() else float("nan")


def series_mase(actuals: np.ndarray, mean: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Per series (n,): mean |error| over its observed actuals / its scale; NaN where the scale is 0 or NaN."""
    seen = np.isfinite(actuals)
    err = np.where(seen, np.abs(mean - np.nan_to_num(actuals)), 0.0)
    mae = err.sum(axis=1) / np.maximum(seen.sum(axis=1), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scales > 0, mae / scales, np.nan)


def mean_mase(forecast: np.ndarray, target: np.ndarray, histories: np.ndarray, season: int) -> float:
    """Mean over windows of MAE / the window history's `mase_scale` (NaN-padded histories allowed);
    windows with a flat history (scale 0) or no seasonal pair are left out."""
    scales = np.array([mase_scale(h, season) for h in histories])
    per_window = series_mase(target, forecast, scales)
    return float(np.nanmean(per_window)) if np.isfinite(per_window).any() else float("nan")


def wape(forecast: np.ndarray, target: np.ndarray) -> float:
    """Pooled |error| / pooled |actual| over observed targets, percent."""
    seen = np.isfinite(target)
    return float(np.abs(forecast - target)[seen].sum() / max(np.abs(target[seen]).sum(), 1e-9) * 100)


def mape(forecast: np.ndarray, target: np.ndarray) -> float | None:
    """Mean |error| / |actual| over observed nonzero actuals, percent (the tourism competition's headline)."""
    seen = np.isfinite(target) & (target != 0)
    return float((np.abs(forecast - target)[seen] / np.abs(target[seen])).mean() * 100) if seen.any() else None


def score(
    actuals: np.ndarray,
    mean: np.ndarray,
    scales: np.ndarray,
    intervals: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict:
    """Metrics of one method.

    Args:
        actuals, mean: (n, horizon); NaN actuals are not scored.
        scales: (n,) each series' MASE scale (`mase_scale`).
        intervals: level -> (lower, upper), each (n, horizon).
    Returns:
        series, points, wape (%), mape (%, over nonzero actuals), mase (mean), mase_median, mase_p90,
        mase_series (series with a scale > 0, over which the MASE statistics run), coverage<level> (%),
        coverage<level>_by_step (%, one per horizon step: a band calibrated on one period can be right on
        average and wrong by step), width<level> (sum of widths / sum |actual|, %).
    """
    seen = np.isfinite(actuals)
    if not np.isfinite(mean[seen]).all():
        raise ValueError("forecasts have non-finite values where actuals exist")
    y = actuals[seen]
    total = max(float(np.abs(y).sum()), 1e-9)  # the widths' denominator, as WAPE's
    per_series = series_mase(actuals, mean, scales)
    defined = per_series[np.isfinite(per_series)]
    out = {
        "series": int(len(actuals)),
        "points": int(seen.sum()),
        "wape": wape(mean, actuals),
        "mape": mape(mean, actuals),
        "mase": float(defined.mean()) if len(defined) else None,
        "mase_median": float(np.median(defined)) if len(defined) else None,
        "mase_p90": float(np.percentile(defined, 90)) if len(defined) else None,
        "mase_series": int(len(defined)),
    }
    for level, (lower, upper) in (intervals or {}).items():
        lo, hi = lower[seen], upper[seen]
        out[f"coverage{level}"] = float(((y >= lo) & (y <= hi)).mean() * 100)
        inside, counted = ((actuals >= lower) & (actuals <= upper) & seen).sum(axis=0), seen.sum(axis=0)
        out[f"coverage{level}_by_step"] = [
            round(100.0 * k / n, 2) if n else None for k, n in zip(inside.tolist(), counted.tolist(), strict=True)
        ]
        out[f"width{level}"] = float((hi - lo).sum() / total * 100)
    return out
