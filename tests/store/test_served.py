"""One series' served forecasts and actuals over the accuracy window, on real SQLite and PostgreSQL.

The store (day t = BASE + t days): A has actuals t = 0..27, so with days=7 the window is 20 < t <= 27.
Logged forecasts of model "m" for A (origin -> target days; mean = 100 + target day):
    f1 v1 19 -> 20, 21, 22   80% [mean - 5, mean + 5]   day 20 is before the window: steps 2 and 3 shown
    f2 v1 21 -> 22, 23       no interval
    f3 v2 21 -> 22           another request from the same origin, by the version that took over
    f4 v2 27 -> 28, 29       after the newest actual: served, waiting for its actuals, shown
    f5 v1  5 -> 6            before the window: not shown
and, not shown: B's forecast by "m", and "other"'s forecast of A.
"""

from __future__ import annotations

import datetime as dt

import pytest

from paxcast.service.store.actuals import write_actuals
from paxcast.service.store.engine import open_store
from paxcast.service.store.rows import Actual
from paxcast.service.store.served import served_series
from tests.store.logged import log_forecast

BASE = dt.datetime(2019, 1, 1)


def day(t: int) -> dt.datetime:
    return BASE + dt.timedelta(days=t)


def log(engine, model, version, series, origin, targets, request_id, interval=None):
    for ds in targets:
        mean = 100.0 + ds
        intervals = {80: (mean - interval, mean + interval)} if interval else None
        log_forecast(engine, model, version, series, day(origin), day(ds), ds - origin, mean, intervals, request_id)


@pytest.fixture
def store(store_url):
    engine = open_store(store_url)
    write_actuals(engine, [Actual("A", day(t), float(t)) for t in range(28)] + [Actual("B", day(3), 1.0)])
    log(engine, "m", "v1", "A", 19, [20, 21, 22], "r1", interval=5)
    log(engine, "m", "v1", "A", 21, [22, 23], "r2")
    log(engine, "m", "v2", "A", 21, [22], "r3")
    log(engine, "m", "v2", "A", 27, [28, 29], "r4")
    log(engine, "m", "v1", "A", 5, [6], "r5")
    log(engine, "m", "v1", "B", 21, [22], "r6")
    log(engine, "other", "x", "A", 21, [22], "r7")
    yield engine
    engine.dispose()


def shown(forecast) -> tuple:
    return (forecast.origin.day - 1, forecast.version, forecast.request_id, [d.day - 1 for d in forecast.ds])


def test_the_forecasts_with_a_target_in_the_window_newest_origin_first_and_the_actuals(store):
    found = served_series(store, "m", "A", days=7, limit=10)
    assert (found.window.start, found.window.end) == (day(20), day(27))
    assert [shown(f) for f in found.forecasts] == [
        (27, "v2", "r4", [28, 29]),
        (21, "v2", "r3", [22]),
        (21, "v1", "r2", [22, 23]),
        (19, "v1", "r1", [21, 22]),
    ]
    assert found.forecasts_total == 4
    f1 = found.forecasts[-1]
    assert (f1.steps, f1.mean, f1.intervals) == ([2, 3], [121.0, 122.0], {80: ([116.0, 117.0], [126.0, 127.0])})
    assert found.forecasts[2].intervals == {}
    assert found.actuals == [(day(t), float(t)) for t in range(21, 28)]


def test_limit_keeps_the_newest_forecasts_and_the_total_counts_them_all(store):
    found = served_series(store, "m", "A", days=7, limit=2)
    assert [shown(f) for f in found.forecasts] == [(27, "v2", "r4", [28, 29]), (21, "v2", "r3", [22])]
    assert found.forecasts_total == 4


def test_a_longer_window_reaches_the_older_forecasts(store):
    found = served_series(store, "m", "A", days=27, limit=10)  # 0 < t <= 27
    assert [shown(f) for f in found.forecasts][-2:] == [(19, "v1", "r1", [20, 21, 22]), (5, "v1", "r5", [6])]
    assert len(found.actuals) == 27


def test_a_series_never_served_has_nothing_and_a_store_without_actuals_no_window(store, store_url):
    found = served_series(store, "m", "nobody", days=7, limit=10)
    assert (found.forecasts, found.actuals, found.forecasts_total) == ([], [], 0)
    assert found.window.end == day(27)  # the model's window, as the accuracy route's
    assert served_series(store, "nobody", "A", days=7, limit=10).window is None


def test_without_any_actual_the_newest_forecasts_are_shown(store_url):
    engine = open_store(store_url)
    try:
        log(engine, "m", "v1", "A", 1, [2], "r1")
        log(engine, "m", "v1", "A", 2, [3, 4], "r2")
        found = served_series(engine, "m", "A", days=7, limit=1)
    finally:
        engine.dispose()
    assert found.window is None and found.actuals == []
    assert [shown(f) for f in found.forecasts] == [(2, "v1", "r2", [3, 4])] and found.forecasts_total == 2
