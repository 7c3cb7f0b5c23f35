import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from paxcast.service.core.covariates import Calendar, CalendarError, timestamps

HOLIDAYS_KR = Path(__file__).parents[2] / "data" / "seoul_subway_daily" / "holidays_kr.csv"


def column(calendar, x, name):
    return x[:, calendar.names.index(name)]


def test_daily_columns_are_named_and_float32():
    calendar = Calendar("D", country="KR")
    x = calendar.features(timestamps("2019-12-23", "D", 14))
    assert calendar.names == (
        "dow_mon",
        "dow_tue",
        "dow_wed",
        "dow_thu",
        "dow_fri",
        "dow_sat",
        "dow_sun",
        "year_sin",
        "year_cos",
        "holiday",
        "before_holiday",
        "after_holiday",
    )
    assert x.shape == (14, 12) and x.dtype == np.float32
    assert column(calendar, x, "dow_mon")[[0, 7]].tolist() == [1, 1]  # 2019-12-23 was a Monday
    assert x[:, :7].sum(axis=1).tolist() == [1] * 14
    assert np.flatnonzero(column(calendar, x, "holiday")).tolist() == [2, 9]  # Christmas, New Year's Day
    assert np.flatnonzero(column(calendar, x, "before_holiday")).tolist() == [1, 8]
    assert np.flatnonzero(column(calendar, x, "after_holiday")).tolist() == [3, 10]


def test_hourly_adds_hour_harmonics_and_keeps_local_wall_clock():
    calendar = Calendar("h", country="AU", subdiv="VIC")
    x = calendar.features(timestamps("2014-01-27T00:00:00", "h", 48))
    assert len(calendar.names) == 16
    hour = (
        np.arctan2(column(calendar, x, "hour_sin1"), column(calendar, x, "hour_cos1")) % (2 * np.pi) * 24 / (2 * np.pi)
    )
    assert np.allclose(hour[:24], np.arange(24), atol=1e-4)
    assert column(calendar, x, "holiday")[:24].tolist() == [1] * 24  # Australia Day (observed)
    assert column(calendar, x, "holiday")[24:].tolist() == [0] * 24


def test_position_in_year_runs_once_round_the_circle():
    calendar = Calendar("D")
    x = calendar.features(timestamps("2020-01-01", "D", 366))
    angle = np.arctan2(x[:, -2], x[:, -1]) % (2 * np.pi)
    assert angle[0] == 0 and np.all(np.diff(angle) > 0)
    assert calendar.names[-2:] == ("year_sin", "year_cos")  # no holiday source, no holiday columns


@pytest.mark.parametrize(
    "freq, names",
    [("W", ("year_sin", "year_cos")), ("MS", ("year_sin", "year_cos")), ("YS", ())],
    ids=["weekly", "monthly", "yearly"],
)
def test_coarse_frequencies_get_only_the_year(freq, names):
    calendar = Calendar(freq, country="KR")
    assert calendar.names == names
    assert calendar.features(timestamps("2020-01-01", freq, 5)).shape == (5, len(names))


def test_holiday_csv_gives_the_same_columns_as_the_package():
    ds = timestamps("2016-01-01", "D", 366 * 4)
    from_package = Calendar("D", country="KR").features(ds)
    from_file = Calendar("D", holiday_csv=HOLIDAYS_KR).features(ds)
    assert np.array_equal(from_package, from_file)  # 2016-2019: the two sources agree day for day


def test_korean_lunar_holidays_of_the_package_match_the_shipped_table():
    import holidays

    package = holidays.country_holidays("KR", years=range(2016, 2021))
    with HOLIDAYS_KR.open(encoding="utf-8") as handle:
        table = {dt.date.fromisoformat(row["ds"]): row["holiday"] for row in csv.DictReader(handle)}
    lunar = {day for day, name in table.items() if name in ("설날", "추석")}
    assert len(lunar) == 30 and lunar <= set(package)
    # The one difference: the package knows the temporary holiday of 2020-08-17, the table does not.
    assert set(package) - set(table) == {dt.date(2020, 8, 17)} and set(table) <= set(package)


def test_holiday_csv_refuses_dates_outside_its_years():
    with pytest.raises(CalendarError, match="the holiday file covers 2016-2020; timestamps run 2020-2021"):
        Calendar("D", holiday_csv=HOLIDAYS_KR).features(timestamps("2020-12-01", "D", 60))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"freq": "D", "country": "XX"},
            "unknown holiday country 'XX'; use an ISO 3166 code that the holidays package knows",
        ),
        ({"freq": "D", "country": "AU", "subdiv": "XYZ"}, "unknown subdivision 'XYZ' of AU; expected one of ACT, NSW"),
        ({"freq": "min"}, "unknown frequency 'min'"),
        (
            {"freq": "D", "country": "KR", "holiday_csv": HOLIDAYS_KR},
            "give a holiday country or a holiday CSV, not both",
        ),
        ({"freq": "D", "holiday_csv": "/nonexistent.csv"}, "/nonexistent.csv: cannot read the holiday file"),
    ],
    ids=["unknown-country", "unknown-subdiv", "unknown-freq", "two-sources", "missing-file"],
)
def test_bad_calendar_requests_stop_with_one_line(kwargs, message):
    with pytest.raises(CalendarError) as info:
        Calendar(**kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_covariates_module_imports_no_torch():
    import subprocess
    import sys

    code = (
        "import sys, paxcast.service.core.covariates as c; c.Calendar('D', "
        "country='KR').features(c.timestamps('2020-01-01', 'D', 3)); print('torch' in sys.modules)"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


def test_the_country_table_is_built_once_and_a_request_s_years_never_build_another(monkeypatch):
    """Issue 30: a holiday table per span of years, built while the request waited (20 ms each on the event
    loop for requests starting in the 1900s and 2190s), and a cache of 64 spans that such requests filled."""
    import paxcast.service.core.covariates as covariates

    built = []
    real = covariates.country_days
    monkeypatch.setattr(covariates, "country_days", lambda *args: built.append(args) or real(*args))
    calendar = Calendar("D", country="AU")
    for year in (1900, 1950, 2020, 2150, 2199):
        for start in (f"{year}-01-01", f"{year}-12-01"):
            calendar.features(timestamps(start, "D", 60 if year < 2199 else 30))
    assert built == [("AU", None, 1899, 2200)]
    christmas = calendar.features(timestamps("1900-12-24", "D", 3))
    assert column(calendar, christmas, "holiday").tolist() == [0, 1, 1]  # Christmas, Boxing Day


def test_rows_build_each_distinct_window_once_and_index_the_rest():
    calendar = Calendar("h", country="AU", subdiv="VIC")
    firsts = np.array(["2020-01-06T00:00"] * 9_999 + ["2020-01-07T05:00"], dtype="datetime64[s]")
    rows = calendar.rows(firsts, 504)
    assert rows.distinct.shape == (2, 504, 16) and len(rows) == 10_000
    assert rows.distinct.nbytes < 100_000  # the whole batch as one array: 323 MB
    assert np.array_equal(rows[9_998:], calendar.windows(firsts[9_998:], 504))
    assert np.array_equal(rows[:3], np.stack([calendar.features(timestamps("2020-01-06T00:00:00", "h", 504))] * 3))
