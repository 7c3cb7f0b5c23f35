"""The averaged base (issue 32): the naive a station network corrects may be the mean or median of the same step in
the last two or three seasons, skipping a season the history lacks (padding, or the part before a gap); the ONNX
graph computes the same, and validation chooses it like a lag."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paxcast.service.core.covariates import Calendar
from paxcast.service.core.hyperparameters import GlobalTrainConfig
from paxcast.training.data import Series
from paxcast.training.export import export_onnx, parity
from paxcast.training.network.base import base_candidates, choose_base, naive_forecast
from paxcast.training.network.model import GlobalForecaster, WindowSampler
from paxcast.training.network.pipeline import resolve_global_config
from paxcast.training.network.windows import timeline, validation_windows

# Three "weeks" of seven steps; histories of one week or more are accepted, the rest padded.
CONFIG = GlobalTrainConfig(window=21, horizon=3, season=7, min_history=7, features=0, hidden=8, base_seasons=3)
STATISTICS = ["mean", "median"]


def untrained(config: GlobalTrainConfig, history: np.ndarray, calendar: np.ndarray | None = None) -> np.ndarray:
    calendar = np.zeros((len(history), 24, config.features), np.float32) if calendar is None else calendar
    with torch.no_grad():
        return GlobalForecaster(config)(torch.from_numpy(history), torch.from_numpy(calendar)).numpy()


def holidays(batch: int, seed: int) -> np.ndarray:
    """(batch, 24, 1): a random 0/1 holiday flag per step, a day in five."""
    return (np.random.default_rng(seed).random((batch, 24, 1)) < 0.2).astype(np.float32)


def steps(first_week: list[float], second_week: list[float], third_week: list[float]) -> np.ndarray:
    """(1, 21): three weeks whose first three steps are given (the horizon's same steps), the rest 1."""
    weeks = [np.r_[np.array(w, np.float32), np.ones(4, np.float32)] for w in (first_week, second_week, third_week)]
    return np.concatenate(weeks)[None]


def test_the_untrained_network_is_the_mean_of_the_last_three_seasons_same_step():
    history = steps([1, 2, 3], [10, 20, 30], [100, 200, 300])
    np.testing.assert_allclose(untrained(CONFIG, history), [[37, 74, 111]], rtol=1e-6)


def test_the_median_of_three_seasons_ignores_one_odd_season():
    history = steps([1, 2, 3], [900, 20, 30], [100, 200, 300])
    median = CONFIG.updated(base_statistic="median")
    np.testing.assert_allclose(untrained(median, history), [[100, 20, 30]], rtol=1e-6)


@pytest.mark.parametrize("statistic", STATISTICS)
def test_a_season_the_history_lacks_does_not_count(statistic):
    config = CONFIG.updated(base_statistic=statistic)
    history = steps([1, 2, 3], [10, 20, 30], [100, 200, 300]).repeat(2, axis=0)
    history[0, :7] = np.nan  # two weeks posted: padded
    history[1, :14] = np.nan  # one week posted
    np.testing.assert_allclose(untrained(config, history), [[55, 110, 165], [100, 200, 300]], rtol=1e-6)


def test_an_averaged_base_of_the_same_day_type_leaves_out_a_past_holiday():
    config = CONFIG.updated(features=1, base_day_type=0)
    history = steps([1, 2, 3], [10, 20, 30], [100, 200, 300])
    calendar = np.zeros((1, 24, 1), np.float32)
    calendar[0, 7 + 1, 0] = 1  # step 1 of the middle week was a holiday: the horizon's step 1 is not
    calendar[0, 21 + 2, 0] = calendar[0, 2, 0] = 1  # the horizon's step 2 is one, like step 2 of the first week
    np.testing.assert_allclose(untrained(config, history, calendar), [[37, 101, 3]], rtol=1e-6)
    calendar[0, 21 + 2, 0] = calendar[0, 2, 0] = 0
    calendar[0, 21 + 2, 0] = 1  # a holiday no past week shares: every week counts
    np.testing.assert_allclose(untrained(config, history, calendar), [[37, 101, 111]], rtol=1e-6)


def test_a_saturday_off_is_not_averaged_with_a_worked_saturday_when_offday_is_the_day_type():
    """China worked Saturday 2018-12-29 (the bridge to New Year): three weeks to that day, then a week ahead whose
    Saturday 2019-01-05 is off. By `offday` the worked Saturday is left out; by `holiday` (0 on all three) it counts."""
    calendar = Calendar("D", country="CN")
    covariates = calendar.windows(np.array(["2018-12-09"], dtype="datetime64[s]"), 28)
    history = np.ones((1, 21), np.float32)
    history[0, [6, 13, 20]] = 10, 20, 100  # Saturdays 12-15 and 12-22 off, 12-29 worked
    for day_type, saturday in (("offday", 15), ("holiday", 130 / 3)):
        config = CONFIG.updated(horizon=7, features=len(calendar.names), base_day_type=calendar.names.index(day_type))
        forecast = naive_forecast(history, config, covariates)
        np.testing.assert_allclose(forecast[0, 6], saturday, rtol=1e-6)
        np.testing.assert_allclose(untrained(config, history, covariates), forecast, rtol=1e-6)


@pytest.mark.parametrize(
    "country, day_types", [("CN", ["holiday", "offday"]), ("KR", ["holiday"])], ids=["with-swaps", "without"]
)
def test_averaged_bases_of_the_same_day_type_come_once_per_day_type_column_and_say_which(country, day_types):
    calendar = Calendar("h", country=country)
    config = GlobalTrainConfig(
        window=168, horizon=24, season=168, min_history=168, patch=24, features=len(calendar.names)
    )
    words = [candidate.base_words(calendar.names) for candidate in base_candidates(config, calendar)]
    same = [w for w in words if w.startswith("mean of the last 3 seasons of the same day type")]
    assert same == [f"mean of the last 3 seasons of the same day type ({name})" for name in day_types]
    assert len(set(words)) == len(words)  # base_scores keys its scores by these words


PARITY_CASES = [("mean", None), ("median", None), ("mean", 0), ("median", 0)]
PARITY_IDS = ["mean", "median", "mean-same-day-type", "median-same-day-type"]


@pytest.mark.parametrize("statistic, day_type", PARITY_CASES, ids=PARITY_IDS)
def test_the_scoring_naive_is_the_graph_s_untrained_forecast(statistic, day_type):
    config = CONFIG.updated(features=1, base_statistic=statistic, base_day_type=day_type)
    rng = np.random.default_rng(0)
    history = rng.uniform(0, 1000, (50, 21)).astype(np.float32)
    for row, padding in enumerate(rng.integers(0, 15, 50)):
        history[row, :padding] = np.nan
    calendar = holidays(50, seed=0)
    expected = untrained(config, history, calendar)
    np.testing.assert_allclose(naive_forecast(history, config, calendar), expected, rtol=1e-5)


@pytest.mark.parametrize("statistic, day_type", PARITY_CASES, ids=PARITY_IDS)
def test_the_onnx_graph_averages_the_seasons_as_torch_does(statistic, day_type, tmp_path):
    config = CONFIG.updated(features=1, base_statistic=statistic, base_day_type=day_type)
    model = GlobalForecaster(config)
    torch.nn.init.normal_(model.head[-1].weight, std=0.1)
    path = export_onnx(model, tmp_path / "model.onnx", config)
    history = np.random.default_rng(1).uniform(0, 1000, (6, 21)).astype(np.float32)
    history[1, :7], history[2, :14], history[3, :3] = np.nan, np.nan, np.nan
    assert parity(model, path, history, holidays(6, seed=1)) < 1e-4


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"window": 14}, r"base_seasons \(3\) x season \(7\) exceeds the window \(14\)"),
        ({"base_seasons": 2, "base_statistic": "median"}, r"a median base needs base_seasons 3, not 2"),
        ({"base_lag": 7}, r"base_lag and base_seasons are two bases: give one"),
        ({"base_seasons": None, "base_statistic": "median"}, r"base_statistic and base_day_type apply to base_seas"),
        ({"base_day_type": 0}, r"base_day_type \(0\) is not one of the 0 calendar columns"),
    ],
    ids=["more-seasons-than-the-window", "median-of-two", "lag-and-seasons", "statistic-alone", "no-such-column"],
)
def test_a_base_the_graph_cannot_compute_is_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        CONFIG.updated(**changes)


def test_a_card_without_an_averaged_base_is_written_as_before():
    dumped = CONFIG.updated(base_seasons=None).model_dump()
    assert "base_seasons" not in dumped and "base_statistic" not in dumped and "base_lag" not in dumped
    assert CONFIG.updated(base_statistic="median").model_dump()["base_statistic"] == "median"


def test_validation_keeps_a_padded_window_s_part_after_a_gap():
    y = np.arange(60.0)
    y[40] = np.nan  # inside the history of every validation window (ending at 57, 54, 51, 48)
    series = [Series("s", "2025-01-06", "D", y)]
    val = validation_windows(series, timeline(series, Calendar("D"), 3, lead=14), CONFIG)
    assert val.origins == [3, 6, 9, 12] and val.skipped == 0 and len(val.history) == 4
    kept = val.history[val.origins.index(12)]  # y[27:48], the gap at 40: y[41:48] remain, seven values
    assert np.isnan(kept[:14]).all() and (kept[14:] == np.arange(41.0, 48.0)).all()


def test_the_sampler_pads_a_padded_window_s_part_before_a_gap_instead_of_redrawing_it():
    y = np.arange(60.0)
    y[20] = np.nan
    sampler = WindowSampler([y], [14], np.zeros((80, 0), np.float32), 21, 3, seed=0, min_history=7, truncate=0.0)
    history, _, _ = sampler.sample(400)
    crossing = [row for row in history if np.isnan(row).any() and np.nanmin(row) > 20]
    assert crossing, "windows whose history crosses the gap are kept, cut after it"
    for row in crossing:
        observed = row[~np.isnan(row)]
        assert len(observed) >= 7 and np.isnan(row[: 21 - len(observed)]).all()
        np.testing.assert_array_equal(observed, np.arange(observed[0], observed[0] + len(observed)))


def noisy_weeks(days: int, seed: int) -> np.ndarray:
    """Hourly: a weekly profile plus independent noise each hour, so averaging weeks beats copying one."""
    t = np.arange(24 * days)
    weekend = np.where((t // 24) % 7 >= 5, 0.5, 1.0)
    profile = 100 * weekend * (1.5 + np.sin(2 * np.pi * t / 24))
    return profile * np.random.default_rng(seed).uniform(0.7, 1.3, len(t))


def test_validation_chooses_the_mean_of_weeks_on_noisy_weeks_and_the_window_grows_to_hold_them():
    series = [Series(f"s{k}", "2025-08-04T00:00", "h", noisy_weeks(42, seed=k)) for k in range(4)]
    config = resolve_global_config(series, 0, horizon=24)
    assert (config.window, config.shortest) == (168, 168)
    picked = choose_base(series, config, Calendar("h"))
    assert (picked.base_seasons, picked.base_statistic, picked.base_lag) == (3, "mean", None)
    assert (picked.window, picked.shortest) == (504, 168)  # a history of one week is still accepted


def test_the_backtest_posts_the_window_the_chosen_base_widened_to(tmp_path):
    """With lr 1e-9 the network stays its untrained self, the mean of the last three weeks' same hour: the
    service must be posted those three weeks, not the one week of the window the short-history rule gave."""
    import contextlib
    import io
    import json

    from paxcast.service.cli.main import main

    values = {f"s{k}": noisy_weeks(42, seed=k).round(3) for k in range(4)}
    hours = np.datetime64("2025-08-04T00:00") + np.arange(24 * 42).astype("timedelta64[h]")
    lines = ["unique_id,ds,y"] + [
        f"{uid},{t},{v:.3f}" for uid, y in values.items() for t, v in zip(hours, y, strict=True)
    ]
    data, report = tmp_path / "hourly.csv", tmp_path / "bt.json"
    data.write_text("\n".join(lines) + "\n")
    args = ["backtest", "--data", str(data), "--horizon", "24", "--origins", "last1@23:00", "--steps", "10"]
    args += ["--hidden", "4", "--lr", "1e-9", "--peers", "SeasonalNaive168", "--json", str(report)]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(args) == 0
    (origin,) = json.loads(report.read_text())["origins"]
    assert (origin["training"]["base"], origin["training"]["window"]) == ("mean of the last 3 seasons", 504)
    end = 24 * 41  # the origin is the 41st day's 23:00: its history is the first 41 days
    actual = np.stack([y[end : end + 24] for y in values.values()])
    weeks = np.stack([np.stack([y[end - 168 * k : end - 168 * k + 24] for y in values.values()]) for k in (1, 2, 3)])
    expected = 100 * np.abs(actual - weeks.mean(axis=0)).sum() / np.abs(actual).sum()
    assert origin["methods"]["paxcast global LSTM"]["wape"] == pytest.approx(expected, rel=1e-4)
    assert origin["methods"]["SeasonalNaive168"]["wape"] != pytest.approx(expected, rel=1e-2)
