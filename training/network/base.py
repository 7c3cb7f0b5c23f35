"""Which naive forecast a global network corrects: the seasonal lag whose forecast of the validation windows is best.

A month of hourly station flows is not three years of them: after a line opens or a festival week, the same hour
yesterday can beat the same hour last week (issue 32). The candidates are the data's seasonal lags (hourly: a day
and a week; daily: a week) that are at least the horizon, so that no horizon step copies a forecast of its own
(a lag of 24 h over a week ahead would forecast Saturday from Friday), plus the season, always. Each forecasts
the validation windows training never sees, and the lowest pooled WAPE wins (ties: the season). With one
candidate, as for the shipped Seoul (daily, 28 days ahead) and Melbourne (hourly, a week ahead) models, the
config is returned unchanged: their graphs stay seasonal naive at lag `season`.
"""

from __future__ import annotations

import numpy as np

from paxcast.service.core.covariates import Calendar
from paxcast.service.core.hyperparameters import GlobalTrainConfig
from paxcast.training.data import Series
from paxcast.training.metrics import wape
from paxcast.training.network.windows import timeline, validation_windows

# The seasonal lags a base forecast may use, by frequency.
BASE_LAGS = {"h": (24, 168), "D": (7,)}


def base_candidates(config: GlobalTrainConfig, freq: str) -> list[int]:
    """The season and every seasonal lag of `freq` the horizon and the window allow, shortest first."""
    lags = {lag for lag in BASE_LAGS.get(freq, ()) if config.horizon <= lag <= config.window}
    return sorted(lags | {config.season})


def naive_forecast(history: np.ndarray, lag: int, horizon: int) -> np.ndarray:
    """(n, horizon): each window's value `lag` steps before each horizon step, repeated every `lag` steps."""
    width = history.shape[1]
    index = np.resize(np.arange(width - lag, width), horizon)
    return history[:, index]


def base_scores(series: list[Series], config: GlobalTrainConfig, calendar: Calendar) -> dict[int, float]:
    """Validation WAPE (percent) of each candidate lag's naive forecast."""
    line = timeline(series, calendar, config.horizon, lead=config.window - config.shortest)
    val = validation_windows(series, line, config)
    return {
        lag: wape(val.target, naive_forecast(val.history, lag, config.horizon))
        for lag in base_candidates(config, calendar.freq)
    }


def choose_base(series: list[Series], config: GlobalTrainConfig, calendar: Calendar) -> GlobalTrainConfig:
    """`config` with `base_lag` set to the candidate that validation prefers; unchanged when `base_lag` was given
    or the season is the only candidate."""
    if config.base_lag is not None or base_candidates(config, calendar.freq) == [config.season]:
        return config
    scores = base_scores(series, config, calendar)
    best = min(scores, key=lambda lag: (scores[lag], lag != config.season))
    return config.updated(base_lag=best)
