"""`GET /v1/models/{name}/accuracy` through the real app: the answer's shape and hand-computed numbers for the
served monthly model (season 12), worst series first with `limit`, 404 for a model not served, 422 naming a bad
parameter.

The store: series S is y[t] = 100 + t for months t = 0..29 from 2019-01 (every seasonal difference is 12:
its scale), series T is 10 * S. With days=31 the window holds month 29 (2021-06) only, y_S = 129, y_T = 1290.
    S from 27, step 2: mean 120, 90% [110, 125] out, |e| 9;  naive: S[17] = 117, |e| 12
    S from 28, step 1: mean 131, 90% [125, 135] in,  |e| 2;  naive: S[17] = 117, |e| 12
    T from 28, step 1: mean 1390, no interval,       |e| 100; naive: T[17] = 1170, |e| 120
"""

from __future__ import annotations

import datetime as dt

import pytest

from paxcast.service.api.accuracy import AccuracyOut
from paxcast.service.core.calendar import add_months
from paxcast.service.store.actuals import write_actuals
from paxcast.service.store.engine import open_store
from paxcast.service.store.rows import Actual
from tests.store.logged import log_forecast

MODEL = "air_passengers"


def month(t: int) -> dt.datetime:
    return add_months(dt.datetime(2019, 1, 1), t)


@pytest.fixture
def scored(make_client, store_url):
    engine = open_store(store_url)
    write_actuals(engine, [Actual(s, month(t), (1 if s == "S" else 10) * (100.0 + t)) for s in "ST" for t in range(30)])
    log_forecast(engine, MODEL, "v1", "S", month(27), month(29), 2, 120.0, {90: (110.0, 125.0)})
    log_forecast(engine, MODEL, "v1", "S", month(28), month(29), 1, 131.0, {90: (125.0, 135.0)})
    log_forecast(engine, MODEL, "v2", "T", month(28), month(29), 1, 1390.0)
    engine.dispose()
    return make_client(store=store_url)


def test_the_answer_holds_the_window_and_hand_computed_scores_beside_naive(scored):
    response = scored.get(f"/v1/models/{MODEL}/accuracy", params={"days": 31, "by": "version"})
    assert response.status_code == 200, response.text
    found = response.json()
    assert {k: found[k] for k in ("model", "freq", "season", "days", "by", "window", "groups_total")} == {
        "model": MODEL,
        "freq": "MS",
        "season": 12,
        "days": 31,
        "by": "version",
        "window": {"from": "2021-05-01", "to": "2021-06-01"},
        "groups_total": 2,
    }
    v1 = found["groups"][0]
    assert v1 == {
        "version": "v1",
        "points": 2,
        "series": 1,
        "wape": pytest.approx(11 / 258),
        "mase": pytest.approx(11 / 2 / 12),
        "coverage": {"90": 0.5},
        "interval_points": {"90": 2},
        "naive": {"wape": pytest.approx(24 / 258), "mase": 1.0},
        "excluded": {"no_actual": 0, "no_naive": 0, "series_without_scale": 0},
    }
    assert found["groups"][1]["version"] == "v2" and found["groups"][1]["coverage"] == {}
    overall = found["overall"]
    assert (overall["points"], overall["series"]) == (3, 2)
    assert overall["wape"] == pytest.approx(111 / (258 + 1290))
    assert overall["naive"]["wape"] == pytest.approx(144 / (258 + 1290))
    assert overall["mase"] == pytest.approx((11 / 2 / 12 + 100 / 120) / 2)


def test_by_series_lists_the_worst_first_up_to_limit(scored):
    found = scored.get(f"/v1/models/{MODEL}/accuracy", params={"days": 31, "by": "series", "limit": 1}).json()
    assert [g["unique_id"] for g in found["groups"]] == ["T"]  # MASE 100/120 against S's 11/24
    assert found["groups_total"] == 2
    steps = scored.get(f"/v1/models/{MODEL}/accuracy", params={"days": 31, "by": "step"}).json()
    assert [(g["step"], g["points"]) for g in steps["groups"]] == [(1, 2), (2, 1)]


def test_by_day_keys_each_day_by_its_date_with_the_versions_that_served_it(scored):
    found = scored.get(f"/v1/models/{MODEL}/accuracy", params={"days": 31, "by": "day"}).json()
    AccuracyOut.model_validate(found)
    assert found["by"] == "day" and found["groups_total"] == 1
    (day,) = found["groups"]
    assert (day["day"], day["versions"], day["points"]) == ("2021-06-01", {"v1": 2, "v2": 1}, 3)
    assert day["wape"] == pytest.approx(111 / (258 + 1290))
    assert day["naive"]["wape"] == pytest.approx(144 / (258 + 1290))
    assert "versions" not in found["overall"]
    by_version = scored.get(f"/v1/models/{MODEL}/accuracy", params={"days": 31}).json()
    assert "versions" not in by_version["groups"][0]


def test_an_unknown_model_is_the_forecast_routes_404(scored):
    response = scored.get("/v1/models/nope/accuracy")
    forecast = scored.post("/v1/models/nope/forecast", json={"series": [{"history": [1.0]}]})
    assert response.status_code == 404
    assert response.json() == forecast.json() == {"detail": "model 'nope' is not served here (served: air_passengers)"}


@pytest.mark.parametrize(
    "params, detail",
    [
        ({"days": 0}, "query.days: Input should be greater than or equal to 1"),
        ({"days": "a week"}, "query.days: Input should be a valid integer, unable to parse string as an integer"),
        ({"days": 3661}, "query.days: Input should be less than or equal to 3660"),
        ({"by": "model"}, "query.by: Input should be 'version', 'series', 'step' or 'day'"),
        ({"by": "series", "limit": 0}, "query.limit: Input should be greater than or equal to 1"),
        ({"limit": 5}, "limit: applies only to by=series (by is version)"),
    ],
    ids=["days-zero", "days-text", "days-huge", "by-unknown", "limit-zero", "limit-without-series"],
)
def test_a_bad_parameter_is_a_422_naming_it(scored, params, detail):
    response = scored.get(f"/v1/models/{MODEL}/accuracy", params=params)
    assert response.status_code == 422
    assert response.json() == {"detail": detail}


def test_a_store_without_actuals_answers_an_empty_window(make_client, store_url):
    found = make_client(store=store_url).get(f"/v1/models/{MODEL}/accuracy").json()
    assert (found["window"], found["groups"], found["overall"]["points"], found["overall"]["wape"]) == (
        None,
        [],
        0,
        None,
    )
