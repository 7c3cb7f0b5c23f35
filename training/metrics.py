"""Forecast accuracy metrics, one implementation each, every one called as (actual, forecast, ...).

Arrays are (n, horizon) or (horizon,); NaN actuals are not observed and are skipped. `score` is the
metrics of one method in a multi-series backtest; its forecasts and actuals are (series, horizon), and the
same function scores one origin or several stacked, so a pooled summary is the score of all origins' rows.
"""

from __future__ import annotations

import numpy as np


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error, in percent, over the observed (non-NaN) actuals;
    NaN (undefined) when an observed actual is zero."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    observed = ~np.isnan(actual)
    a, f = actual[observed], forecast[observed]
    if not a.size or np.any(a == 0):
        return float("nan")
    return float(np.mean(np.abs(f - a) / np.abs(a)) * 100)


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE, in percent: 200 * |f - a| / (|a| + |f|), a point with a = f = 0 counting as 0."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    total = np.abs(actual) + np.abs(forecast)
    terms = np.divide(2 * np.abs(forecast - actual), total, out=np.zeros_like(total), where=total > 0)
    return float(np.mean(terms) * 100)


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float:
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    return float(np.sqrt(np.mean((forecast - actual) ** 2)))


def mase(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray, season: int) -> float:
    """Mean absolute scaled error against the in-sample seasonal naive forecast of `train`."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    return float(np.mean(np.abs(forecast - actual)) / mase_scale(np.asarray(train, float), season))


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actuals inside [lower, upper], in percent."""
    actual = np.asarray(actual, float)
    return float(np.mean((actual >= lower) & (actual <= upper)) * 100)


def mean_width(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Mean interval width relative to the actuals, in percent."""
    return float(np.mean((np.asarray(upper) - np.asarray(lower)) / np.abs(np.asarray(actual, float))) * 100)


def mase_scale(history: np.ndarray, season: int) -> float:
    """MASE's denominator: the in-sample MAE of the seasonal naive forecast, mean |y_t - y_{t-season}| over the
    history's observed pairs; NaN without one."""
    d = np.abs(history[season:] - history[:-season])
    return float(np.nanmean(d)) if np.isfinite(d).any() else float("nan")


def series_mase(actuals: np.ndarray, mean: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Per series (n,): mean |error| over its observed actuals / its scale; NaN where the scale is 0 or NaN."""
    seen = np.isfinite(actuals)
    err = np.where(seen, np.abs(mean - np.nan_to_num(actuals)), 0.0)
    mae = err.sum(axis=1) / np.maximum(seen.sum(axis=1), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scales > 0, mae / scales, np.nan)


def mean_mase(target: np.ndarray, forecast: np.ndarray, histories: np.ndarray, season: int) -> float:
    """Mean over windows of MAE / the window history's `mase_scale` (NaN-padded histories allowed);
    windows with a flat history (scale 0) or no seasonal pair are left out."""
    scales = np.array([mase_scale(h, season) for h in histories])
    per_window = series_mase(target, forecast, scales)
    return float(np.nanmean(per_window)) if np.isfinite(per_window).any() else float("nan")


def wape(target: np.ndarray, forecast: np.ndarray) -> float:
    """Pooled |error| / pooled |actual| over observed targets, percent."""
    seen = np.isfinite(target)
    return float(np.abs(forecast - target)[seen].sum() / max(np.abs(target[seen]).sum(), 1e-9) * 100)


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
        series, points, wape (%), mape (%, over nonzero actuals), smape (%, 0-200), mase (mean), mase_median, mase_p90,
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
        "wape": wape(actuals, mean),
        # MAPE over the nonzero actuals (the tourism competition's headline); None when every actual is zero
        "mape": mape(y[y != 0], mean[seen][y != 0]) if (y != 0).any() else None,
        "smape": smape(y, mean[seen]),  # M4's: over every point, so over series alike when horizons are equal
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
