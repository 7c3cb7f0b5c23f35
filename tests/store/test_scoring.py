"""Live accuracy on a tiny store whose every number is worked out by hand below: 2 series, season 7, daily,
forecasts from a few origins by two versions; WAPE, MASE, coverage and seasonal naive on the same points.

The store (day t = BASE + t days, t = 0..27; the window is days=7: 20 < t <= 27):
    A[t] = 10 + t % 7 + 2 * (t // 7)     every seasonal difference is 2: A's scale is 2
    B[t] = 100 + 10 * (t % 7) + 5 * (t // 7), B[17] and B[23] missing: its differences are 5, its scale 5
The scale span is two seasons before the window, 6 < t <= 20 (longer than days=7): pairs t = 14..20.
    A[7]=12 A[14]=14 A[15]=15 A[21]=16 A[22]=17;  B[14]=110 B[15]=120 B[21]=115 B[22]=125 B[24]=145
Logged forecasts of model "m" (origin -> ds, step; mean; 80% interval) and their seasonal-naive values:
    p1 A v1 20->21 s1 mean 18 [15,17] in   |e| 2  naive A[14]=14 |e| 2
    p2 A v1 20->22 s2 mean 14 [15,16] out  |e| 3  naive A[15]=15 |e| 2
    p3 A v2 21->22 s1 mean 17 [16,18] in   |e| 0  naive A[15]=15 |e| 2
    p4 A v1 13->21 s8 mean 16 (none)       |e| 0  naive A[7]=12  |e| 4   (k=2: A[14] is after the origin)
    p5 B v1 20->21 s1 mean 110 [100,120] in |e| 5  naive B[14]=110 |e| 5
    p6 B v1 20->22 s2 mean 130 [126,140] out |e| 5  naive B[15]=120 |e| 5
    p7 B v1 20->24 s4 mean 140: naive B[17] is missing -> no_naive, excluded from both sides
    p8 B v1 20->23 s3 mean 150: B[23] is missing -> no_actual
    p9 A v1 10->12 s2: before the window, not counted; a forecast of model "other" for A[21]: not counted
Series Z (never forecast by "m") has an actual months later: it must not move the window.
"""

from __future__ import annotations

import datetime as dt

import pytest

from paxcast.service.store.actuals import write_actuals
from paxcast.service.store.engine import open_store
from paxcast.service.store.rows import Actual
from paxcast.service.store.scoring import score
from tests.store.logged import log_forecast

BASE = dt.datetime(2019, 1, 1)


def a(t: int) -> float:
    return 10 + t % 7 + 2 * (t // 7)


def b(t: int) -> float:
    return 100 + 10 * (t % 7) + 5 * (t // 7)


def fill(engine, base: dt.datetime = BASE) -> None:
    def day(t: int) -> dt.datetime:
        return base + dt.timedelta(days=t)

    rows = [Actual("A", day(t), a(t)) for t in range(28)]
    rows += [Actual("B", day(t), b(t)) for t in range(28) if t not in (17, 23)]
    rows.append(Actual("Z", day(90), 1.0))
    write_actuals(engine, rows)
    for version, series, origin, ds, mean, interval in [
        ("v1", "A", 20, 21, 18, (15, 17)),
        ("v1", "A", 20, 22, 14, (15, 16)),
        ("v2", "A", 21, 22, 17, (16, 18)),
        ("v1", "A", 13, 21, 16, None),
        ("v1", "B", 20, 21, 110, (100, 120)),
        ("v1", "B", 20, 22, 130, (126, 140)),
        ("v1", "B", 20, 24, 140, (0, 1000)),
        ("v1", "B", 20, 23, 150, (0, 1000)),
        ("v1", "A", 10, 12, 99, (0, 1)),
    ]:
        intervals = {80: interval} if interval else None
        log_forecast(engine, "m", version, series, day(origin), day(ds), ds - origin, mean, intervals)
    log_forecast(engine, "other", "x", "A", day(20), day(21), 1, 1000.0)


@pytest.fixture
def store(store_url):
    engine = open_store(store_url)
    fill(engine)
    yield engine
    engine.dispose()


def numbers(scores) -> dict:
    return {k: v for k, v in vars(scores).items()}


def test_pooled_scores_match_the_hand_computation(store):
    found = score(store, "m", season=7, freq="D", days=7)
    assert (found.window.start, found.window.end) == (BASE + dt.timedelta(days=20), BASE + dt.timedelta(days=27))
    overall = found.overall
    assert (overall.points, overall.series, overall.no_naive, overall.no_actual) == (6, 2, 1, 1)
    y = 16 + 17 + 17 + 16 + 115 + 125
    assert overall.wape == pytest.approx((2 + 3 + 0 + 0 + 5 + 5) / y)
    assert overall.naive_wape == pytest.approx((2 + 2 + 2 + 4 + 5 + 5) / y)
    # MASE: mean over series of MAE / scale; A: (2+3+0+0)/4 / 2, B: (5+5)/2 / 5
    assert overall.mase == pytest.approx((1.25 / 2 + 5 / 5) / 2)
    assert overall.naive_mase == pytest.approx(((2 + 2 + 2 + 4) / 4 / 2 + 5 / 5) / 2)
    assert overall.coverage == {80: pytest.approx(3 / 5)}
    assert overall.interval_points == {80: 5}
    assert overall.series_without_scale == 0


def test_scores_by_version(store):
    groups = score(store, "m", season=7, freq="D", days=7, by="version").groups
    assert set(groups) == {"v1", "v2"}
    v1, v2 = groups["v1"], groups["v2"]
    assert (v1.points, v1.no_naive, v1.no_actual, v2.points) == (5, 1, 1, 1)
    assert v1.wape == pytest.approx(15 / 289) and v1.naive_wape == pytest.approx(18 / 289)
    assert v1.mase == pytest.approx((5 / 3 / 2 + 1) / 2) and v1.naive_mase == pytest.approx((8 / 3 / 2 + 1) / 2)
    assert v1.coverage == {80: pytest.approx(0.5)}
    assert (v2.wape, v2.naive_wape, v2.mase, v2.naive_mase) == (0.0, pytest.approx(2 / 17), 0.0, 1.0)
    assert v2.coverage == {80: 1.0}


def test_scores_by_step_and_by_series(store):
    steps = score(store, "m", season=7, freq="D", days=7, by="step").groups
    assert set(steps) == {1, 2, 3, 4, 8}
    assert (steps[1].points, steps[1].wape, steps[1].naive_wape) == (3, pytest.approx(7 / 148), pytest.approx(9 / 148))
    assert (steps[2].points, steps[2].wape, steps[2].naive_wape) == (2, pytest.approx(8 / 142), pytest.approx(7 / 142))
    assert (steps[8].points, steps[8].wape, steps[8].naive_wape) == (1, 0.0, pytest.approx(4 / 16))
    assert (steps[3].points, steps[3].no_actual, steps[4].points, steps[4].no_naive) == (0, 1, 0, 1)
    series = score(store, "m", season=7, freq="D", days=7, by="series").groups
    assert series["A"].wape == pytest.approx(5 / 66) and series["A"].mase == pytest.approx(0.625)
    assert series["B"].wape == pytest.approx(10 / 240) and series["B"].mase == pytest.approx(1.0)


def test_scores_by_day_group_the_points_by_the_day_they_forecast_with_the_versions_that_served_it(store):
    days = score(store, "m", season=7, freq="D", days=7, by="day").groups
    day = [(BASE + dt.timedelta(days=t)).date() for t in range(28)]
    assert sorted(days) == [day[21], day[22], day[23], day[24]]
    # day 21: p1 (A, y 16, |e| 2, naive 2), p4 (A, 16, 0, naive 4), p5 (B, 115, 5, naive 5); p1 and p5 in 80%
    d21 = days[day[21]]
    assert (d21.points, d21.series, d21.wape, d21.naive_wape) == (3, 2, pytest.approx(7 / 147), pytest.approx(11 / 147))
    assert (d21.coverage, d21.versions) == ({80: 1.0}, {"v1": 3})
    # day 22: p2 (A v1, y 17, |e| 3, naive 2), p3 (A v2, 17, 0, naive 2), p6 (B v1, 125, 5, naive 5); p3 in
    d22 = days[day[22]]
    assert (d22.points, d22.wape, d22.naive_wape) == (3, pytest.approx(8 / 159), pytest.approx(9 / 159))
    assert (d22.coverage, d22.versions) == ({80: pytest.approx(1 / 3)}, {"v1": 2, "v2": 1})
    # days 23 and 24 served forecasts that score nothing yet: B[23] not posted (p8), B[17] missing for p7's naive
    d23, d24 = days[day[23]], days[day[24]]
    assert (d23.points, d23.no_actual, d23.wape, d23.versions) == (0, 1, None, {"v1": 1})
    assert (d24.points, d24.no_naive, d24.wape, d24.versions) == (0, 1, None, {"v1": 1})


def test_an_hourly_models_day_pools_its_hours(store_url):
    engine = open_store(store_url)
    try:
        hour = [dt.datetime(2020, 3, 1) + dt.timedelta(hours=h) for h in range(96)]
        write_actuals(engine, [Actual("H", t, 10.0 + (i % 24)) for i, t in enumerate(hour)])
        # day 2 (hours 48..71): two forecasts from origin 47, steps 1 and 24; naive is y 24 hours before: equal
        log_forecast(engine, "h", "v1", "H", hour[47], hour[48], 1, 12.0)  # y 10, |e| 2, naive 10: |e| 0
        log_forecast(engine, "h", "v2", "H", hour[47], hour[71], 24, 30.0)  # y 33, |e| 3, naive 33: |e| 0
        log_forecast(engine, "h", "v2", "H", hour[71], hour[72], 1, 10.0)  # day 3: y 10, |e| 0
        days = score(engine, "h", season=24, freq="h", days=2, by="day").groups
    finally:
        engine.dispose()
    assert sorted(days) == [dt.date(2020, 3, 3), dt.date(2020, 3, 4)]
    d3 = days[dt.date(2020, 3, 3)]
    assert (d3.points, d3.wape, d3.naive_wape, d3.versions) == (2, pytest.approx(5 / 43), 0.0, {"v1": 1, "v2": 1})
    assert days[dt.date(2020, 3, 4)].versions == {"v2": 1}


def test_the_window_counts_from_the_newest_actual_so_a_backfill_scores_as_live_data(store, tmp_path):
    live = open_store(f"sqlite:///{tmp_path / 'live.sqlite'}")
    today = dt.datetime.combine(dt.date.today(), dt.time()) - dt.timedelta(days=27)
    fill(live, base=today)
    try:
        backfill = score(store, "m", season=7, freq="D", days=7, by="version")
        as_live = score(live, "m", season=7, freq="D", days=7, by="version")
        assert as_live.window.end == today + dt.timedelta(days=27)
        assert {k: numbers(v) for k, v in backfill.groups.items()} == {k: numbers(v) for k, v in as_live.groups.items()}
    finally:
        live.dispose()


def test_a_longer_window_takes_the_earlier_points_in(store):
    found = score(store, "m", season=7, freq="D", days=16, by="version")  # 11 < t <= 27: p9 (t=12) too
    assert found.overall.points == 7 and found.groups["v1"].points == 6


def test_a_model_without_actuals_or_forecasts_scores_nothing(store):
    found = score(store, "nobody", season=7, freq="D", days=7)
    assert found.window is None and found.groups == {} and found.overall.points == 0 and found.overall.wape is None


def test_sqlite_and_postgresql_give_identical_numbers(postgres_cluster, tmp_path):
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres_cluster)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    found = {}
    for name, url in [("sqlite", f"sqlite:///{tmp_path / 's.sqlite'}"), ("postgresql", postgres_cluster)]:
        engine = open_store(url)
        fill(engine)
        found[name] = {
            by: {k: numbers(v) for k, v in score(engine, "m", 7, "D", 7, by=by).groups.items()}
            for by in ("version", "series", "step", "day")
        }
        engine.dispose()
    assert found["sqlite"] == found["postgresql"]
