"""A calendar-aware global model served over HTTP: what a request must give, and what batching must keep."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from fastapi.testclient import TestClient

from paxcast.service.api.app import create_app
from paxcast.service.api.routes import INLINE_SERIES
from paxcast.service.core.settings import Settings

HISTORY = [100.0 + 20 * (k % 7 < 5) for k in range(40)]


@pytest.fixture
def stations(global_registry):
    settings = Settings(model_dir=global_registry, model_name="stations", reload_interval=0)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def post(client, series, horizon=7, **extra):
    return client.post("/v1/models/stations/forecast", json={"series": series, "horizon": horizon, **extra})


def test_a_forecast_with_start_has_timestamps_and_level_scaled_intervals(stations):
    response = post(stations, [{"id": "gangnam", "history": HISTORY, "start": "2019-12-01"}], level=[80, 95])
    assert response.status_code == 200, response.text
    (out,) = response.json()["forecasts"]
    assert out["timestamps"][0] == "2020-01-10" and len(out["mean"]) == 7
    for level in ("80", "95"):
        lower, upper = np.array(out["intervals"][level]["lower"]), np.array(out["intervals"][level]["upper"])
        assert (lower <= np.array(out["mean"])).all() and (np.array(out["mean"]) <= upper).all()
    assert (np.array(out["intervals"]["95"]["upper"]) >= np.array(out["intervals"]["80"]["upper"])).all()


@pytest.mark.parametrize(
    ("series", "detail"),
    [
        (
            {"id": "a", "history": HISTORY},
            "series 'a': start is required: model 'stations' reads the calendar (weekdays, holidays) of the history "
            "and the horizon; give the timestamp of the first history value as an ISO date",
        ),
        (
            {"id": "b", "history": HISTORY, "start": "2019-12-01T08:00"},
            "series 'b': start 2019-12-01T08:00:00 is not on the daily grid (midnight)",
        ),
        (
            {"id": "c", "history": HISTORY, "start": "2019-12-01T00:00:00+09:00"},
            "series 'c': start 2019-12-01T00:00:00+09:00 has a UTC offset; give local wall-clock time",
        ),
        (
            {"id": "d", "history": HISTORY, "start": "2299-01-01"},
            "series 'd': start: the history and horizon must fall in 1900-2199, the years this model's holiday "
            "calendar covers",
        ),
        (
            {"id": "e", "history": HISTORY[:10], "start": "2019-12-01"},
            "series 'e': history has 10 values, the model needs at least 14",
        ),
    ],
    ids=["no-start", "time-on-a-daily-model", "utc-offset", "far-future", "too-short"],
)
def test_bad_requests_are_422_naming_the_series_and_rule(stations, series, detail):
    response = post(stations, [{"id": "ok", "history": HISTORY, "start": "2019-12-01"}, series])
    assert response.status_code == 422
    assert response.json() == {"detail": detail}


def test_zeros_and_any_scale_are_accepted(stations):
    series = [
        {"id": "closed", "history": [0.0] * 40, "start": "2019-12-01"},
        {"id": "tiny", "history": [x / 1000 for x in HISTORY], "start": "2019-12-01"},
        {"id": "huge", "history": [x * 1e5 for x in HISTORY], "start": "2019-12-01"},
    ]
    response = post(stations, series, level=[95])
    assert response.status_code == 200, response.text
    for forecast in response.json()["forecasts"]:  # counts: neither a band nor a forecast below zero (the floor)
        lower, upper = (np.array(forecast["intervals"]["95"][k]) for k in ("lower", "upper"))
        assert lower.min() >= 0 and min(forecast["mean"]) >= 0 and (upper >= lower).all()
    closed, tiny, huge = (np.array(f["mean"]) for f in response.json()["forecasts"])
    assert np.abs(closed).max() < 1.0  # an all-zero window stays near zero (the scale floor)
    np.testing.assert_allclose(tiny * 1e8, huge, rtol=1e-5)  # rows enter the graph near unit level: scale-free


def test_the_model_summary_says_start_is_required(stations):
    (summary,) = [m for m in stations.get("/v1/models").json() if m["name"] == "stations"]
    assert summary["requires"] == ["history", "start"]


def test_concurrent_requests_batched_together_get_what_one_request_alone_gets(stations):
    """Calendar rows travel with their histories through the shared batch."""
    rng = np.random.default_rng(3)
    bodies = [
        {
            "series": [
                {
                    "id": f"s{k}",
                    "history": (rng.uniform(50, 5000) * (1 + 0.2 * rng.standard_normal(30 + k))).tolist(),
                    "start": f"2019-{1 + k % 12:02d}-{1 + k:02d}",
                }
            ],
            "horizon": 7,
        }
        for k in range(24)
    ]
    alone = [stations.post("/v1/models/stations/forecast", json=body).json() for body in bodies]
    app = stations.app

    async def together():
        import httpx

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(client.post("/v1/models/stations/forecast", json=b) for b in bodies))

    responses = stations.portal.call(together)
    for single, batched in zip(alone, responses, strict=True):
        assert batched.status_code == 200
        np.testing.assert_allclose(batched.json()["forecasts"][0]["mean"], single["forecasts"][0]["mean"], rtol=1e-6)


def test_a_large_answer_is_streamed_in_parts_and_is_the_same_json(stations, monkeypatch):
    """Issue 30: a 120 MB answer was rendered by one orjson call holding the GIL (~300 ms with /healthz
    waiting) and held whole in memory. Answers larger than STREAM_BYTES are rendered part by part as the
    client takes them; the bytes are the ones a single render writes."""
    from paxcast.service.api import responses, routes

    series = [
        {"id": f"station-{k}", "history": [v + k for v in HISTORY], "start": "2019-12-01"}
        for k in range(INLINE_SERIES + 5)
    ]
    whole = post(stations, series, level=[50, 80, 95])
    assert whole.status_code == 200 and "content-length" in whole.headers

    monkeypatch.setattr(routes, "STREAM_BYTES", 0)
    monkeypatch.setattr(responses, "PART_BYTES", 2_000)  # ~5 series per part
    streamed = post(stations, series, level=[50, 80, 95])
    assert streamed.status_code == 200 and "content-length" not in streamed.headers
    assert streamed.headers["x-model-version"] == whole.headers["x-model-version"]
    assert streamed.content == whole.content


def test_parts_join_to_the_single_render_with_and_without_intervals_and_timestamps(global_registry):
    from paxcast.service.api.responses import forecast_parts, forecast_response
    from paxcast.service.core.registry import current_version
    from paxcast.service.core.request import ForecastRequest
    from paxcast.service.inference.predictor import Predictor

    predictor = Predictor.load(global_registry / "stations" / current_version(global_registry, "stations"))
    series = [{"id": f"s{k}", "history": HISTORY, "start": "2019-12-01"} for k in range(7)]
    for level in (None, [80]):
        result = predictor.forecast(ForecastRequest.model_validate({"series": series, "horizon": 3, "level": level}))
        assert b"".join(forecast_parts(result)) == forecast_response(result).body
