"""Statistical baselines from statsforecast (the `bench` extra), run on the same splits as the LSTM.

The service never imports this module; only `paxcast backtest` does.
"""

from __future__ import annotations

import warnings

import numpy as np

from paxcast.service.core.exceptions import MissingExtra

BASELINES = ("SeasonalNaive", "AutoETS", "AutoTheta", "AutoARIMA")


def make_model(name: str, season: int):
    try:
        from statsforecast import models
    except ImportError:
        raise MissingExtra("backtest", "bench", "statsforecast") from None
    constructors = {
        "SeasonalNaive": lambda: models.SeasonalNaive(season_length=season),
        "AutoETS": lambda: models.AutoETS(season_length=season),
        "AutoTheta": lambda: models.AutoTheta(season_length=season),
        "AutoARIMA": lambda: models.AutoARIMA(season_length=season),
    }
    return constructors[name]()


def baseline_forecast(name: str, y: np.ndarray, horizon: int, season: int, levels: list[int]) -> dict:
    """Fit baseline `name` on y (t,) and forecast `horizon` steps.

    Returns:
        {"mean": (horizon,), "intervals": {level: (lower (horizon,), upper (horizon,))}}
    """
    model = make_model(name, season)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        out = model.forecast(y=np.asarray(y, dtype=np.float64), h=horizon, level=list(levels))
    intervals = {}
    for level in levels:
        lo, hi = out.get(f"lo-{level}"), out.get(f"hi-{level}")
        if lo is not None and hi is not None:
            intervals[level] = (np.asarray(lo, float), np.asarray(hi, float))
    return {"mean": np.asarray(out["mean"], float), "intervals": intervals}
