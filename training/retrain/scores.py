"""How `paxcast retrain` scores a model on the hold-out and decides: the errors of a registered version's
answers through the service's `Predictor` (per-series: MAPE and sMAPE; global: pooled WAPE and mean MASE),
and the verdict that compares challenger and champion.

What is scored is what would be served: the card's graph through onnxruntime, with the service's padding,
unit-level rescaling and count floor (`training.served.served_forecast`, as `paxcast backtest`).
"""

from __future__ import annotations

import numpy as np

from paxcast.service.core.exceptions import DataError
from paxcast.service.inference.predictor import Predictor
from paxcast.training.data import Series
from paxcast.training.metrics import mape, mean_mase, smape, wape
from paxcast.training.served import served_forecast


def served_mean(predictor: Predictor, before: list[Series], horizon: int) -> np.ndarray | None:
    """(series, horizon) forecasts as the service answers `before`'s histories; None if any is not finite
    (the service's 422: the history is outside the range the model can forecast)."""
    try:
        return served_forecast(predictor, before, horizon, [], "hold-out")["mean"]
    except DataError:
        return None


def score(predictor: Predictor, before: list[Series], actual: np.ndarray) -> dict:
    """Hold-out errors of one served model: MAPE and sMAPE (percent) over every point of every series; for a
    global model pooled WAPE (percent; stations have zeros and gaps) and mean MASE instead."""
    if predictor.card.is_global:
        return score_global(predictor, before, actual)
    forecast = served_mean(predictor, before, actual.shape[1])
    if forecast is None:
        return {"mape": None, "smape": None}
    nonzero = np.abs(actual) + np.abs(forecast) > 0  # sMAPE of 0 vs 0 is a perfect 0, not 0/0
    scores = {"mape": mape(actual, forecast) if np.all(actual != 0) else None, "smape": 0.0}
    if nonzero.any():
        scores["smape"] = smape(actual[nonzero], forecast[nonzero]) * nonzero.mean()
    return scores


def score_global(predictor: Predictor, before: list[Series], actual: np.ndarray) -> dict:
    """Pooled WAPE and mean MASE (each series' MAE over its window's seasonal-naive MAE, as the checkpoint
    was picked) on the hold-out of every series the service would forecast, over observed actuals: its last
    `window` values (or, for a padded general model, all of at least `min_history`, which the service pads)
    have no gap. A series with a gap there is left out: the service refuses gaps."""
    window, shortest = predictor.window, predictor.card.min_history
    rows = [k for k, s in enumerate(before) if len(s.y) >= shortest and np.isfinite(s.y[-window:]).all()]
    if not rows:
        return {"wape": None, "mase": None, "series_scored": 0}
    forecast = served_mean(predictor, [before[k] for k in rows], actual.shape[1])
    if forecast is None:
        return {"wape": None, "mase": None, "series_scored": len(rows)}
    x = np.full((len(rows), window), np.nan)
    for row, k in enumerate(rows):
        tail = before[k].y[-window:]
        x[row, window - len(tail) :] = tail
    target = actual[rows]
    mase = mean_mase(target, forecast, x, predictor.card.hyperparameters.season)
    return {"wape": wape(target, forecast), "mase": mase if np.isfinite(mase) else None, "series_scored": len(rows)}


def judge(
    challenger: float | None, champion: float | None, metric: str, max_regression: float, force: bool
) -> tuple[bool, str]:
    """(promote, reason): the challenger may be worse than the champion by at most `max_regression` % (relative)."""
    if challenger is None:
        return False, "the challenger's hold-out forecasts are not finite; not promoted even with --force"
    unit = "" if metric == "mase" else "%"
    if champion is None:
        return True, f"the champion's hold-out forecasts are not finite; challenger {metric} {challenger:.3f}{unit}"
    change = 100.0 * (challenger / champion - 1.0) if champion > 0 else (0.0 if challenger == 0 else float("inf"))
    versus = f"challenger hold-out {metric} {challenger:.3f}{unit} vs champion {champion:.3f}{unit} ({change:+.2f}%)"
    if force:
        return True, f"forced: {versus}"
    if change <= max_regression:
        return True, f"{versus}, within the allowed regression of {max_regression:g}%"
    return False, f"{versus}, worse than the allowed regression of {max_regression:g}%"
