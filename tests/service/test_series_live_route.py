"""`GET /v1/models/{name}/live/{series_id}` through the real app: one series' served forecasts over its actuals for
the served monthly model, the newest first up to `limit`; 404 for a model not served, 503 without a store, 422
naming a bad parameter.

The store: S is y = 100 + t for months t = 0..29 from 2019-01 (the newest actual is 2021-06); with days=62 the
window is 2021-03-31 < ds <= 2021-06-01, so months 27..29 (127, 128, 129) are shown. Forecasts of S:
    r1 v1 from month 26 to 27, 28   mean 126, 129   90% [120, 130] and [121, 140]
    r2 v1 from month 28 to 29       mean 131
    r3 v2 from month 29 to 30, 31   mean 133, 134   (after the newest actual: waiting for its actuals)
    r0 v1 from month 20 to 21       (before the window: not shown)
"""

from __future__ import annotations

import datetime as dt

import pytest

from paxcast.service.api.series_live import SeriesLiveOut
from paxcast.service.core.calendar import add_months
from paxcast.service.store.actuals import write_actuals
from paxcast.service.store.engine import open_store
from paxcast.service.store.rows import Actual
from tests.store.logged import log_forecast

MODEL = "air_passengers"


def month(t: int) -> dt.datetime:
    return add_months(dt.datetime(2019, 1, 1), t)


@pytest.fixture
def served(make_client, tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    engine = open_store(url)
    write_actuals(engine, [Actual(s, month(t), 100.0 + t) for s in "ST" for t in range(30)])
    log_forecast(engine, MODEL, "v1", "S", month(20), month(21), 1, 1.0, None, "r0")
    log_forecast(engine, MODEL, "v1", "S", month(26), month(27), 1, 126.0, {90: (120.0, 130.0)}, "r1")
    log_forecast(engine, MODEL, "v1", "S", month(26), month(28), 2, 129.0, {90: (121.0, 140.0)}, "r1")
    log_forecast(engine, MODEL, "v1", "S", month(28), month(29), 1, 131.0, None, "r2")
    log_forecast(engine, MODEL, "v2", "S", month(29), month(30), 1, 133.0, None, "r3")
    log_forecast(engine, MODEL, "v2", "S", month(29), month(31), 2, 134.0, None, "r3")
    log_forecast(engine, MODEL, "v1", "T", month(28), month(29), 1, 5.0, None, "r2")
    engine.dispose()
    return make_client(store=url)


def test_the_answer_holds_the_actuals_and_the_served_forecasts_newest_first(served):
    response = served.get(f"/v1/models/{MODEL}/live/S", params={"days": 62})
    assert response.status_code == 200, response.text
    SeriesLiveOut.model_validate(response.json())  # the documented schema, which schemathesis sees only empty
    assert response.json() == {
        "model": MODEL,
        "unique_id": "S",
        "freq": "MS",
        "days": 62,
        "window": {"from": "2021-03-31", "to": "2021-06-01"},
        "actuals": {"ds": ["2021-04-01", "2021-05-01", "2021-06-01"], "y": [127.0, 128.0, 129.0]},
        "forecasts": [
            {
                "origin": "2021-06-01",
                "version": "v2",
                "request_id": "r3",
                "ds": ["2021-07-01", "2021-08-01"],
                "step": [1, 2],
                "mean": [133.0, 134.0],
                "intervals": {},
            },
            {
                "origin": "2021-05-01",
                "version": "v1",
                "request_id": "r2",
                "ds": ["2021-06-01"],
                "step": [1],
                "mean": [131.0],
                "intervals": {},
            },
            {
                "origin": "2021-03-01",
                "version": "v1",
                "request_id": "r1",
                "ds": ["2021-04-01", "2021-05-01"],
                "step": [1, 2],
                "mean": [126.0, 129.0],
                "intervals": {"90": {"lower": [120.0, 121.0], "upper": [130.0, 140.0]}},
            },
        ],
        "forecasts_total": 3,
    }


def test_limit_keeps_the_newest_forecasts(served):
    found = served.get(f"/v1/models/{MODEL}/live/S", params={"days": 62, "limit": 1}).json()
    assert [f["request_id"] for f in found["forecasts"]] == ["r3"]
    assert found["forecasts_total"] == 3


def test_a_series_never_served_answers_empty_lists_in_the_models_window(served):
    found = served.get(f"/v1/models/{MODEL}/live/nobody").json()
    assert (found["window"]["to"], found["actuals"], found["forecasts"]) == ("2021-06-01", {"ds": [], "y": []}, [])


def test_an_unknown_model_is_the_forecast_routes_404(served):
    response = served.get("/v1/models/nope/live/S")
    assert response.status_code == 404
    assert response.json() == {"detail": "model 'nope' is not served here (served: air_passengers)"}


def test_without_a_store_it_is_a_503_naming_the_settings(make_client):
    response = make_client(log_forecasts=False).get(f"/v1/models/{MODEL}/live/S")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "no store is open: PAXCAST_LOG_FORECASTS is false and PAXCAST_INGEST_TOKEN unset"
    }


@pytest.mark.parametrize(
    "params, detail",
    [
        ({"days": 0}, "query.days: Input should be greater than or equal to 1"),
        ({"days": 3661}, "query.days: Input should be less than or equal to 3660"),
        ({"limit": 0}, "query.limit: Input should be greater than or equal to 1"),
        ({"limit": 501}, "query.limit: Input should be less than or equal to 500"),
    ],
    ids=["days-zero", "days-huge", "limit-zero", "limit-huge"],
)
def test_a_bad_parameter_is_a_422_naming_it(served, params, detail):
    response = served.get(f"/v1/models/{MODEL}/live/S", params=params)
    assert response.status_code == 422
    assert response.json() == {"detail": detail}
