"""Forecast timestamps: the vectorised path writes exactly what stepping one datetime at a time writes."""

import datetime as dt

import pytest

from paxcast.service.core.calendar import CalendarOverflow, future_timestamps, iso, step


@pytest.mark.parametrize(
    "start, freq",
    [
        (dt.datetime(2020, 2, 27), "D"),
        (dt.datetime(2020, 2, 27, 6, 30), "D"),  # a daily series posted with a time keeps it
        (dt.datetime(2019, 12, 31, 21), "h"),
        (dt.datetime(2020, 3, 1), "h"),  # hourly timestamps are date-times even at midnight
        (dt.datetime(2020, 12, 28), "W"),
        (dt.datetime(2020, 1, 31), "MS"),
        (dt.datetime(2020, 1, 1, 0, 0, 0, 500_000), "h"),  # microseconds: isoformat's own spelling
    ],
)
def test_timestamps_are_what_stepping_one_at_a_time_writes(start, freq):
    expected = [iso(step(start, freq, 30 + k), freq) for k in range(40)]
    assert future_timestamps(start, 30, 40, freq) == expected


@pytest.mark.parametrize("freq", ["h", "D", "W", "MS"])
def test_a_horizon_past_9999_is_refused_on_every_path(freq):
    with pytest.raises(CalendarOverflow, match="passes 9999-12-31"):
        future_timestamps(dt.datetime(9999, 12, 1), 10, 800, freq)
