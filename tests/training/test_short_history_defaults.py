"""Defaults that follow the history (issue 32): a few weeks of hourly data get a one-week window, a week of
day-ahead validation and a base forecast chosen on it; the shipped station models' histories resolve to exactly
the hyperparameters they were trained with."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paxcast.service.core.contract import read_card
from paxcast.service.core.covariates import Calendar
from paxcast.service.core.hyperparameters import GlobalTrainConfig
from paxcast.service.core.registry import current_version
from paxcast.training.data import Series
from paxcast.training.network.base import choose_base
from paxcast.training.network.model import GlobalForecaster
from paxcast.training.network.pipeline import resolve_global_config
from paxcast.training.network.windows import validation_origins
from tests.conftest import ROOT


def shipped_hyperparameters(name: str) -> GlobalTrainConfig:
    models = ROOT / "models"
    return read_card(models / name / current_version(models, name)).hyperparameters


def with_lengths(freq: str, start: str, lengths: list[int], missing: int = 0) -> list[Series]:
    out = []
    for k, n in enumerate(lengths):
        y = np.ones(n)
        y[n // 2 : n // 2 + missing] = np.nan
        out.append(Series(f"s{k}", start, freq, y))
    return out


def test_seoul_s_history_resolves_to_the_shipped_seoul_hyperparameters():
    # data/seoul_subway_daily: 584 station-lines, the shortest 670 days, the median (and longest) 1,735.
    series = with_lengths("D", "2016-01-01", [670] + [1735] * 583)
    config = resolve_global_config(series, 12, horizon=28)
    assert config == shipped_hyperparameters("seoul_subway_daily")
    assert validation_origins(series, config) == [28]  # the card's 584 validation windows: one horizon each
    assert choose_base(series, config, Calendar("D")) == config  # one candidate, the weekly lag: nothing to choose


def test_melbourne_s_history_resolves_to_the_shipped_melbourne_hyperparameters():
    # data/melbourne_pedestrian_hourly: 32 sensors, 10,104 to 27,360 hours (median 25,776), gaps (DST hours).
    series = with_lengths("h", "2012-01-01T00:00", [10104] * 14 + [25776] * 2 + [27360] * 16, missing=580)
    config = resolve_global_config(series, 16, horizon=168)
    assert config == shipped_hyperparameters("melbourne_pedestrian_hourly")
    assert validation_origins(series, config) == [168, 336, 504, 672]
    assert choose_base(series, config, Calendar("h")) == config  # a lag of 24 h would repeat a day across the week


def test_a_month_of_hourly_data_gets_a_week_window_and_a_week_of_day_ahead_validation():
    # Like Bengaluru at its first origin: 48 days with a 13-day gap, 83 stations.
    series = with_lengths("h", "2025-08-01T01:00", [1270] * 68 + [1030] * 15, missing=312)
    config = resolve_global_config(series, 13, horizon=24)
    assert (config.window, config.patch, config.season, config.steps) == (168, 24, 168, 3000)
    assert config.patience_steps == 1000
    assert validation_origins(series, config) == [24 * k for k in range(1, 8)]  # every weekday once


def test_a_given_window_is_kept_and_the_rule_leaves_other_frequencies_alone():
    series = with_lengths("h", "2025-08-01T01:00", [1270] * 10, missing=312)
    assert resolve_global_config(series, 13, horizon=24, window=336).window == 336
    monthly = with_lengths("MS", "2010-01-01", [60] * 10)
    assert resolve_global_config(monthly, 2, horizon=24).window == 72


@pytest.mark.parametrize(
    "freq, start, hidden",
    [("D", "2016-01-01", 32), ("h", "2012-01-01T00:00", 64), ("W", "2016-01-04", 64), ("MS", "2010-01-01", 64)],
    ids=["daily-32", "hourly-64", "weekly-64", "monthly-64"],
)
def test_the_hidden_size_defaults_to_the_one_validation_chose_for_the_frequency(freq, start, hidden):
    # Issue 34: Seoul's validation preferred 32 units (Melbourne's kept 64); a size given is kept.
    series = with_lengths(freq, start, [2000] * 3)
    assert resolve_global_config(series, 0).hidden == hidden
    assert resolve_global_config(series, 0, hidden=48).hidden == 48


def day_and_week(hours: int, shift_at: int) -> np.ndarray:
    """A daily profile with a weekend dip; every value doubles `shift_at` hours before the end."""
    t = np.arange(hours)
    weekend = np.where((t // 24) % 7 >= 5, 0.6, 1.0)
    y = 100 * weekend * (1.5 + np.sin(2 * np.pi * t / 24))
    y[hours - shift_at :] *= 2.0
    return y


@pytest.mark.parametrize(
    "shift_at, chosen",
    [(10_000, 168), (150, 24)],
    ids=["a-weekly-pattern-picks-last-week", "a-level-shift-picks-yesterday"],
)
def test_the_base_forecast_is_the_naive_that_validation_prefers(shift_at, chosen):
    hours = 24 * 42
    series = [Series(f"s{k}", "2025-08-04T00:00", "h", day_and_week(hours, min(shift_at, hours))) for k in range(3)]
    config = resolve_global_config(series, 0, horizon=24)
    picked = choose_base(series, config, Calendar("h"))
    assert picked.base_lag == chosen and picked.updated(base_lag=None) == config


def test_the_untrained_network_is_the_chosen_naive():
    config = GlobalTrainConfig(window=168, horizon=24, season=168, patch=24, features=0, base_lag=24)
    history = torch.rand(2, 168)
    forecast = GlobalForecaster(config)(history, torch.zeros(2, 192, 0))
    torch.testing.assert_close(forecast, history[:, -24:])
    weekly = GlobalForecaster(config.updated(base_lag=None))(history, torch.zeros(2, 192, 0))
    torch.testing.assert_close(weekly, history[:, :24])


def test_a_base_lag_the_window_cannot_hold_is_refused():
    with pytest.raises(ValueError, match=r"base_lag \(336\) exceeds the window \(168\)"):
        GlobalTrainConfig(window=168, horizon=24, season=168, patch=24, features=0, base_lag=336)
