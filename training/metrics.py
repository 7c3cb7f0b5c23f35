"""Forecast accuracy metrics. Arrays are (n, horizon) or (horizon,); results are means over all points."""

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


def seasonal_scale(train: np.ndarray, season: int) -> float:
    """In-sample MAE of the seasonal naive forecast: MASE's denominator."""
    train = np.asarray(train, float)
    return float(np.mean(np.abs(train[season:] - train[:-season])))


def mase(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray, season: int) -> float:
    """Mean absolute scaled error against the in-sample seasonal naive forecast of `train`."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    return float(np.mean(np.abs(forecast - actual)) / seasonal_scale(train, season))


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actuals inside [lower, upper], in percent."""
    actual = np.asarray(actual, float)
    return float(np.mean((actual >= lower) & (actual <= upper)) * 100)


def mean_width(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Mean interval width relative to the actuals, in percent."""
    return float(np.mean((np.asarray(upper) - np.asarray(lower)) / np.abs(np.asarray(actual, float))) * 100)
