"""How `paxcast retrain` scores a model on the hold-out and decides: errors of one ONNX graph through
onnxruntime (per-series: MAPE and sMAPE; global: pooled WAPE and mean MASE), and the verdict that compares
challenger and champion.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paxcast.service.contract import GlobalTrainConfig
from paxcast.service.covariates import Calendar
from paxcast.training.data import Series
from paxcast.training.evaluate import onnx_forecast
from paxcast.training.global_scores import mean_mase, wape
from paxcast.training.metrics import mape, smape


def score(onnx_path: Path, before: list[Series], actual: np.ndarray, config, calendar: Calendar | None) -> dict:
    """Hold-out errors of one ONNX model with `config`'s window: MAPE and sMAPE (percent) over every point of
    every series; for a global model (`calendar` given) pooled WAPE (percent; stations have zeros and gaps)
    and mean MASE instead."""
    if calendar is not None:
        return score_global(onnx_path, before, actual, config, calendar)
    window = config.window
    forecast = onnx_forecast(onnx_path, np.stack([s.y[-window:] for s in before]))
    if not np.isfinite(forecast).all():
        return {"mape": None, "smape": None}
    nonzero = np.abs(actual) + np.abs(forecast) > 0  # sMAPE of 0 vs 0 is a perfect 0, not 0/0
    scores = {"mape": mape(actual, forecast) if np.all(actual != 0) else None, "smape": 0.0}
    if nonzero.any():
        scores["smape"] = smape(actual[nonzero], forecast[nonzero]) * nonzero.mean()
    return scores


def score_global(
    onnx_path: Path, before: list[Series], actual: np.ndarray, config: GlobalTrainConfig, calendar: Calendar
) -> dict:
    """Pooled WAPE and mean MASE (each series' MAE over its window's seasonal-naive MAE, as the checkpoint
    was picked) on the hold-out of every series the service would forecast, over observed actuals: its last
    `window` values (or, for a padded general model, all of at least `shortest`, NaN-padded as the service
    pads them) have no gap. A series with a gap there is left out: the service refuses gaps."""
    from paxcast.service.predictor import make_session, run_session

    window, shortest = config.window, config.shortest
    tails = {k: s.y[-window:] for k, s in enumerate(before) if len(s.y) >= shortest}
    rows = [k for k, tail in tails.items() if np.isfinite(tail).all()]
    if not rows:
        return {"wape": None, "mase": None, "series_scored": 0}
    horizon = actual.shape[1]
    firsts = np.array([np.datetime64(before[k].timestamp(len(before[k].y) - window), "s") for k in rows])
    x = np.full((len(rows), window), np.nan, np.float32)
    for row, k in enumerate(rows):
        x[row, window - len(tails[k]) :] = tails[k]
    forecast = run_session(make_session(onnx_path), x, calendar.windows(firsts, window + horizon))[:, :horizon]
    if not np.isfinite(forecast).all():
        return {"wape": None, "mase": None, "series_scored": len(rows)}
    forecast, target = forecast.astype(np.float64), actual[rows]
    mase = mean_mase(forecast, target, x.astype(np.float64), config.season)
    return {"wape": wape(forecast, target), "mase": mase if np.isfinite(mase) else None, "series_scored": len(rows)}


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
