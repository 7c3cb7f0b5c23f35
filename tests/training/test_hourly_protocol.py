"""The day-ahead protocol of issue 32 as flags of `paxcast backtest`: daily origins at one hour over the last
days (`--origins last7@23:00`), peers with their own season (`SeasonalNaive24`) and NeuralForecast's NHITS,
the peers' history (`--peer-history`) and a long file cut to its last days (`--last-days`)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from paxcast.service.core.exceptions import DataError, UsageError
from paxcast.training.backtest.cuts import keep_last_days, parse_origins
from paxcast.training.backtest.peers import long_frame, parse_peers, peer_forecast, peer_history
from paxcast.training.data import Series

# Like Bengaluru: hourly from 01:00, the last value at midnight (the last operating day's after-midnight tail).
HOURS = 24 * 20


def hourly(uid: str, start: str, n: int, level: float = 100.0) -> Series:
    hours = np.arange(n)
    return Series(uid, start, "h", level * (1.5 + np.sin(2 * np.pi * hours / 24)))


def test_last_days_at_an_hour_are_the_last_origins_whose_whole_horizon_is_in_the_data():
    series = [hourly("a", "2025-09-11T01:00", HOURS), hourly("b", "2025-09-12T01:00", HOURS - 24)]
    # The data ends 2025-10-01T00:00: 2025-09-30T23:00 would score one hour, so the last origin is the 29th.
    got = parse_origins("last7@23:00", series, 24)
    assert got == [dt.datetime(2025, 9, d, 23) for d in range(23, 30)]
    assert parse_origins("last2@05:00", series, 24) == [dt.datetime(2025, 9, 28, 5), dt.datetime(2025, 9, 29, 5)]


@pytest.mark.parametrize(
    "text, error, message",
    [
        ("last0@23:00", UsageError, "--origins 'last0@23:00': ask for at least one origin"),
        ("last7@25:00", UsageError, "--origins 'last7@25:00': '25:00' is not an hour of the day (HH:MM, 00:00-23:00)"),
        ("last7@23:30", UsageError, "--origins 'last7@23:30': 23:30 is not on the hourly grid of the data"),
        (
            "last30@23:00",
            DataError,
            "--origins 'last30@23:00': the first of 30 origins, 2025-08-31T23:00:00, is before the data",
        ),
    ],
    ids=["none", "not-an-hour", "off-grid", "before-the-data"],
)
def test_last_days_refuses_what_it_cannot_place(text, error, message):
    series = [hourly("a", "2025-09-11T01:00", HOURS)]
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_origins(text, series, 24)


def test_last_days_needs_sub_daily_data():
    series = [Series("a", "2021-01-01", "D", np.ones(60))]
    with pytest.raises(UsageError, match="--origins 'last7@23:00': daily origins at an hour need hourly data"):
        parse_origins("last7@23:00", series, 7)


def test_a_peer_name_may_carry_its_own_season():
    assert parse_peers("SeasonalNaive24,SeasonalNaive168,MSTL,AutoETS,NHITS", "h") == [
        "SeasonalNaive24",
        "SeasonalNaive168",
        "MSTL",
        "AutoETS",
        "NHITS",
    ]
    with pytest.raises(UsageError, match="--peers 'MSTL24': unknown peer 'MSTL24'"):
        parse_peers("MSTL24", "h")
    with pytest.raises(UsageError, match="--peers 'SeasonalNaive0': unknown peer 'SeasonalNaive0'"):
        parse_peers("SeasonalNaive0", "h")


def test_seasonal_naive_24_repeats_yesterday_and_168_last_week():
    rng = np.random.default_rng(0)
    history = rng.uniform(10, 20, 24 * 21)
    day = peer_forecast("SeasonalNaive24", ["a"], [history], "h", 168, 24, [80])
    week = peer_forecast("SeasonalNaive168", ["a"], [history], "h", 168, 24, [80])
    np.testing.assert_allclose(day["mean"][0], history[-24:])
    np.testing.assert_allclose(week["mean"][0], history[-168:-144])


def test_peer_history_defaults_to_eight_weeks_hourly_and_takes_a_given_length():
    assert peer_history("h", None) == 8 * 168
    assert peer_history("D", None) is None
    assert peer_history("h", 4 * 168) == 4 * 168
    with pytest.raises(UsageError, match="--peer-history 10 must be at least 2 seasons of the data's 168"):
        peer_history("h", 10, season=168)


def test_the_peers_read_only_the_peer_history():
    frame = long_frame(["a"], [np.arange(1000.0)], 168, 672)
    assert len(frame) == 672 and frame["y"].iloc[0] == 328.0


def test_keep_last_days_cuts_every_series_to_the_file_s_last_days():
    series = [
        hourly("a", "2025-09-01T00:00", 24 * 30),  # ends 2025-09-30T23:00
        hourly("b", "2025-09-20T00:00", 24 * 5),  # ends 2025-09-24T23:00
        hourly("c", "2025-08-01T00:00", 24 * 10),  # ends before the last 7 days
    ]
    kept = keep_last_days(series, 7)
    assert [s.id for s in kept] == ["a", "b"]
    assert kept[0].start == "2025-09-24T00:00:00" and len(kept[0].y) == 24 * 7
    np.testing.assert_array_equal(kept[0].y, series[0].y[-24 * 7 :])
    assert kept[1].start == "2025-09-24T00:00:00" and len(kept[1].y) == 24
    with pytest.raises(UsageError, match="--last-days 0 must be at least 1"):
        keep_last_days(series, 0)


@pytest.mark.slow
def test_nhits_forecasts_every_series_with_ordered_bands():
    from paxcast.training.backtest.neural import nhits_forecast

    histories = [hourly(uid, "2025-09-01T00:00", 24 * 14, level).y for uid, level in (("a", 10.0), ("b", 500.0))]
    frame = long_frame(["a", "b"], histories, 168, None)
    out = nhits_forecast(frame, ["b", "a"], "h", 168, 24, [80, 95], max_steps=2)
    assert out["mean"].shape == (2, 24) and np.isfinite(out["mean"]).all()
    low80, high80 = out["intervals"][80]
    low95, high95 = out["intervals"][95]
    assert (low95 <= low80 + 1e-6).all() and (low80 <= high80).all() and (high80 <= high95 + 1e-6).all()
