"""Which naive forecast a global network corrects: the candidate whose forecast of the validation windows is best.

A month of hourly station flows is not three years of them: after a line opens or a festival week, the same hour
yesterday can beat the same hour last week, and hour by hour noise makes the mean of the last weeks' same hour beat
any one of them (issue 32). The candidates:

- the data's seasonal lags (hourly: a day and a week; daily: a week) that are at least the horizon, so that no
  horizon step copies a forecast of its own (a lag of 24 h over a week ahead would forecast Saturday from Friday),
  plus the season, always;
- for a model that states its shortest history (`min_history`: the short-history default of hourly and daily
  data), the mean of the same step in the last two or three seasons and their median of three, each also of the
  same day type (a past holiday does not count towards a workday, nor a workday towards a holiday; all count
  when none is alike), once per calendar column that says which days are alike: `holiday`, and `offday` where
  the calendar knows make-up workdays (a worked Saturday is then not averaged with the Saturdays off). Their window
  grows to hold those seasons and the shortest history stays: a season the history lacks (padding, or what came
  before a gap) is skipped, so the same histories are accepted and the same validation windows judge every candidate.

Each forecasts the validation windows training never sees, and the lowest pooled WAPE wins (ties: the season, then
the simpler). With one candidate, as for the shipped Seoul (daily, 28 days ahead) and Melbourne (hourly, a week
ahead) models, the config is returned unchanged: their graphs stay seasonal naive at lag `season`.
"""

from __future__ import annotations

import numpy as np

from paxcast.service.core.covariates import Calendar
from paxcast.service.core.hyperparameters import MAX_WINDOW, GlobalTrainConfig
from paxcast.training.data import Series
from paxcast.training.metrics import wape
from paxcast.training.network.windows import timeline, validation_windows

# The seasonal lags a base forecast may use, by frequency.
BASE_LAGS = {"h": (24, 168), "D": (7,)}
# The calendar columns that say which days are alike: an averaged base may average like days only.
DAY_TYPES = ("holiday", "offday")
# The averaged bases, simplest first: (seasons, statistic).
AVERAGED_BASES = ((2, "mean"), (3, "mean"), (3, "median"))


def base_candidates(config: GlobalTrainConfig, calendar: Calendar) -> list[GlobalTrainConfig]:
    """`config` with each candidate base, the season first, then the other lags (shortest first), then the averages
    (each also of the same day type, once per DAY_TYPES column the calendar has)."""
    freq = calendar.freq
    day_types = [calendar.names.index(name) for name in DAY_TYPES if name in calendar.names]
    plain = config.updated(base_lag=None, base_seasons=None, base_statistic="mean")
    lags = sorted(lag for lag in BASE_LAGS.get(freq, ()) if config.horizon <= lag <= config.window)
    out = [plain.updated(base_lag=lag) for lag in [config.season, *(lag for lag in lags if lag != config.season)]]
    if freq in BASE_LAGS and config.min_history is not None:
        for seasons, statistic in AVERAGED_BASES:
            window = max(config.window, seasons * config.season)
            if window <= MAX_WINDOW and window % config.patch == 0:
                averaged = plain.updated(
                    window=window, min_history=config.shortest, base_seasons=seasons, base_statistic=statistic
                )
                out += [averaged] + [averaged.updated(base_day_type=column) for column in day_types]
    return out


def naive_forecast(history: np.ndarray, config: GlobalTrainConfig, calendar: np.ndarray | None = None) -> np.ndarray:
    """(n, horizon): the untrained graph's forecast of `history` (n, window), NaN padding allowed, and its
    `calendar` (n, window + horizon, features) (read only with `base_day_type`): the value `base` steps before each
    horizon step (repeated every `base` steps), or the mean (median) of the same step in the last `base_seasons`
    seasons the history observed (of the horizon step's day type, unless none is)."""
    width, horizon, season = history.shape[1], config.horizon, config.season
    if config.base_seasons is None:
        return history[:, np.resize(np.arange(width - config.base, width), horizon)]
    index = np.resize(np.arange(width - season, width), horizon)[:, None] - season * np.arange(config.base_seasons)
    values = history[:, index]  # (n, H, seasons)
    seen = np.isfinite(values)
    if config.base_day_type is not None:
        day_type = calendar[:, :, config.base_day_type]
        alike = seen & (day_type[:, index] == day_type[:, width:, None])
        seen = np.where(alike.any(axis=-1, keepdims=True), alike, seen)
    mean = np.where(seen, values, 0.0).sum(axis=-1) / np.maximum(seen.sum(axis=-1), 1)
    if config.base_statistic == "mean":
        return mean
    return np.median(np.where(seen, values, mean[..., None]), axis=-1)  # a missing season: the others' median


def base_scores(series: list[Series], config: GlobalTrainConfig, calendar: Calendar) -> dict[str, float]:
    """Validation WAPE (percent) of each candidate's naive forecast, by the candidate's `base_words`."""
    scored = scored_candidates(series, config, calendar)
    return {candidate.base_words(calendar.names): score for candidate, score in scored}


def scored_candidates(
    series: list[Series], config: GlobalTrainConfig, calendar: Calendar
) -> list[tuple[GlobalTrainConfig, float]]:
    out = []
    for candidate in base_candidates(config, calendar):
        line = timeline(series, calendar, candidate.horizon, lead=candidate.window - candidate.shortest)
        val = validation_windows(series, line, candidate)
        out.append((candidate, wape(val.target, naive_forecast(val.history, candidate, val.calendar))))
    return out


def choose_base(series: list[Series], config: GlobalTrainConfig, calendar: Calendar) -> GlobalTrainConfig:
    """`config` with the base validation prefers (and the window it needs); unchanged when a base was given or the
    season is the only candidate."""
    given = config.base_lag is not None or config.base_seasons is not None
    if given or len(base_candidates(config, calendar)) == 1:
        return config
    scored = scored_candidates(series, config, calendar)
    best = min(range(len(scored)), key=lambda k: (scored[k][1], k))
    return scored[best][0]
