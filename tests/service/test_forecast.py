import numpy as np
import pytest


def post(client, body, **kwargs):
    return client.post("/v1/forecast", json=body, **kwargs)


def test_forecast_returns_horizon_values_for_each_series(client, air_history):
    body = {
        "series": [
            {"id": "air", "history": air_history[-36:]},
            {"id": "half", "history": [v / 2 for v in air_history[-30:]]},
        ],
        "horizon": 5,
    }
    response = post(client, body)
    assert response.status_code == 200
    data = response.json()
    assert data["model"]["name"] == "air_passengers" and data["model"]["version"]
    air, half = data["forecasts"]
    assert air["id"] == "air" and len(air["mean"]) == 5 and "timestamps" not in air
    assert 300 < np.mean(air["mean"]) < 700
    np.testing.assert_allclose(half["mean"], np.array(air["mean"]) / 2, rtol=1e-3)  # the graph is scale-free


def test_longer_history_uses_its_last_window(client, air_history):
    short = post(client, {"series": [{"id": "a", "history": air_history[-24:]}], "horizon": 3}).json()
    full = post(client, {"series": [{"id": "a", "history": air_history}], "horizon": 3}).json()
    assert short["forecasts"][0]["mean"] == full["forecasts"][0]["mean"]


def test_start_adds_timestamps_continuing_the_model_frequency(client, air_history):
    body = {"series": [{"id": "air", "history": air_history, "start": "1949-01-01"}], "horizon": 3}
    assert post(client, body).json()["forecasts"][0]["timestamps"] == ["1961-01-01", "1961-02-01", "1961-03-01"]


def test_json_without_content_type_is_accepted(client, air_history):
    import json

    raw = json.dumps({"series": [{"id": "air", "history": air_history}], "horizon": 2})
    response = client.post("/v1/forecast", content=raw, headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200


GOOD = list(range(100, 124))


@pytest.mark.parametrize(
    "body, status, detail",
    [
        (
            {"series": [{"id": "air", "history": GOOD[:10]}], "horizon": 3},
            422,
            "series 'air': history has 10 values, the model needs at least 24",
        ),
        ({"series": [], "horizon": 3}, 422, "series: List should have at least 1 item after validation, not 0"),
        ({"horizon": 3}, 422, "series: Field required"),
        ({"series": [{"id": "air", "history": GOOD}]}, 422, "horizon: Field required"),
        (
            {"series": [{"id": "air", "history": GOOD}], "horizon": 0},
            422,
            "horizon: Input should be greater than or equal to 1",
        ),
        ({"series": [{"id": "air", "history": GOOD}], "horizon": 13}, 422, "horizon 13 exceeds the model's horizon 12"),
        (
            {"series": [{"id": "air", "history": GOOD}, {"id": "air", "history": GOOD}], "horizon": 3},
            422,
            "series 'air': duplicate id; ids must be unique within a request",
        ),
        (
            {"series": [{"id": "air", "history": GOOD[:-1] + ["x"]}], "horizon": 3},
            422,
            "series 'air': history[23]: Input should be a valid number",
        ),
        (
            {"series": [{"id": "air", "history": GOOD[:-1] + [1e39]}], "horizon": 3},
            422,
            "series 'air': history value inf (position 23 of the last 24) is not a finite float32",
        ),
        ({"series": [{"id": "air"}], "horizon": 3}, 422, "series 'air': history: Field required"),
        (
            {"series": [{"id": "", "history": GOOD}], "horizon": 3},
            422,
            "series[0]: id: String should have at least 1 character",
        ),
        (
            {"series": [{"id": "air", "history": GOOD, "colour": 1}], "horizon": 3},
            422,
            "series 'air': colour: Extra inputs are not permitted",
        ),
        ({"series": [{"id": "air", "history": GOOD}], "horizon": 3, "level": [0]}, 422, "level 0 is outside (0, 100)"),
        (
            {"series": [{"id": "air", "history": GOOD}], "horizon": 3, "level": [80, 100]},
            422,
            "level 100 is outside (0, 100)",
        ),
        (
            {"series": [{"id": "air", "history": GOOD}], "horizon": 3, "level": [-5]},
            422,
            "level -5 is outside (0, 100)",
        ),
        (
            {"series": [{"id": "air", "history": GOOD}], "horizon": 3, "level": [150]},
            422,
            "level 150 is outside (0, 100)",
        ),
        (
            {"series": [{"id": "air", "history": GOOD}], "horizon": 3, "level": ["high"]},
            422,
            "level[0]: Input should be a valid number",
        ),
        (
            {"series": [{"id": "air", "history": GOOD, "start": "1949-13-01"}], "horizon": 3},
            422,
            "series 'air': start: Input should be an ISO date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM) "
            "string (month must be in 1..12)",
        ),
        ([1, 2, 3], 422, "body: Input should be an object"),
    ],
    ids=[
        "short",
        "empty",
        "no-series",
        "no-horizon",
        "horizon-0",
        "horizon-too-big",
        "duplicate",
        "string-value",
        "float32-overflow",
        "no-history",
        "empty-id",
        "extra-field",
        "level-0",
        "level-100",
        "level-negative",
        "level-150",
        "level-string",
        "bad-start",
        "not-object",
    ],
)
def test_bad_requests_get_a_4xx_naming_the_series_and_rule(client, body, status, detail):
    response = post(client, body)
    assert response.status_code == status
    assert response.json() == {"detail": detail}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_values_are_refused(client, literal):
    raw = f'{{"series": [{{"id": "air", "history": [{literal}, {", ".join(map(str, GOOD))}]}}], "horizon": 3}}'
    response = client.post("/v1/forecast", content=raw)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("series 'air': history[0]: Input should be a finite number")


def test_malformed_json_is_400(client):
    response = client.post("/v1/forecast", content=b'{"series": [')
    assert response.status_code == 400
    assert response.json()["detail"].startswith("request body is not valid JSON")


def test_health_ready_and_model(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    meta = client.get("/v1/model").json()
    assert meta["version"] == ready["model"]["version"] and meta["window"] == 24 and meta["horizon"] == 12


def test_docs_page_needs_no_internet(client):
    import re

    page = client.get("/docs").text
    assert "cdn" not in page.lower() and "https://" not in page
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', page)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:  # every script and stylesheet comes from the service itself
        assert client.get(asset).status_code == 200, asset
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/v1/forecast"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ForecastRequest"}
    assert "ForecastRequest" in schema["components"]["schemas"]


def test_the_forecast_routes_are_the_first_the_router_tries(client):
    # Starlette tries routes in order; the docs routes FastAPI adds when the app is made (/openapi.json, /docs, ...)
    # cost every forecast a failed match each before it reached its own (issue 34, the path outside the model).
    paths = [getattr(route, "path", None) for route in client.app.router.routes]
    assert paths[:2] == ["/v1/models/{name}/forecast", "/v1/forecast"]
    assert {"/openapi.json", "/docs", "/redoc"} <= set(paths[2:])  # still served, after them
