"""Matching posted actuals to logged forecasts: the steps they score, counted by (model, version), and every model
with a forecast of a posted series (its window may move even when no forecast has that exact ds)."""

from __future__ import annotations

import datetime as dt

import pytest

from paxcast.service.store.engine import open_store
from paxcast.service.store.matching import match_actuals
from paxcast.service.store.rows import Actual
from tests.store.logged import log_forecast


def day(n: int) -> dt.datetime:
    return dt.datetime(2020, 9, 1) + dt.timedelta(days=n)


@pytest.fixture
def store(store_url):
    engine = open_store(store_url)
    for version, series, origin, ds in [("v1", "A", 0, 1), ("v1", "A", 0, 2), ("v2", "A", 1, 2), ("v1", "B", 0, 1)]:
        log_forecast(engine, "m", version, series, day(origin), day(ds), ds - origin, 1.0)
    log_forecast(engine, "n", "x", "C", day(0), day(1), 1, 1.0)
    log_forecast(engine, "unserved", "x", "A", day(0), day(2), 2, 1.0)
    yield engine
    engine.dispose()


def test_posted_actuals_count_the_steps_they_score_by_model_and_version(store):
    matched = match_actuals(store, ["m", "n"], [Actual("A", day(2), 5.0), Actual("B", day(1), 5.0)])
    assert matched.points == {("m", "v1"): 2, ("m", "v2"): 1}  # A day 2 from two origins, B day 1
    assert matched.models == {"m"}


def test_an_actual_of_a_forecast_series_touches_its_model_without_a_matching_step(store):
    matched = match_actuals(store, ["m", "n"], [Actual("C", day(9), 5.0), Actual("Z", day(1), 5.0)])
    assert (matched.points, matched.models) == ({}, {"n"})


def test_no_served_model_matches_nothing(store):
    assert match_actuals(store, [], [Actual("A", day(2), 5.0)]).points == {}
