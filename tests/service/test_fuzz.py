"""The API under generated input: schemathesis against its own OpenAPI, and a property of valid requests."""

from __future__ import annotations

import math

import pytest
import schemathesis
from schemathesis import GenerationMode
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from paxcast.service.app import create_app
from paxcast.service.settings import Settings

FUZZ_EXAMPLES = 100  # per operation and generation mode; bounded so the suite stays fast


OPERATIONS = [
    ("POST", "/v1/forecast"), ("GET", "/v1/model"), ("GET", "/readyz"), ("GET", "/healthz"), ("POST", "/v1/admin/reload"),
    ("GET", "/v1/models"), ("GET", "/v1/models/{name}"), ("POST", "/v1/models/{name}/forecast"),
    ("GET", "/v1/models/{name}/series"), ("GET", "/v1/models/{name}/series/{series_id}"), ("GET", "/v1/models/{name}/history"),
    ("GET", "/v1/models/{name}/backtest"),
]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_schema(tiny_registry):
    app = create_app(Settings(model_dir=tiny_registry, reload_interval=0, max_series=50, max_body_bytes=64 * 1024, admin_token="fuzz-admin-token"))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_the_schema_lists_every_operation_fuzzed(api_schema):
    listed = {(method.upper(), path) for path, methods in api_schema.raw_schema["paths"].items() for method in methods}
    assert listed == set(OPERATIONS)


# Hypothesis drives schemathesis' strategies directly: its pytest plugin's lazy loader does not
# run under pytest 9. Both well-formed and deliberately malformed requests; derandomize=True
# fixes the seed, so every run sends the same requests.
# Negative cases for the operations that take a body or a query (a bare path name cannot be malformed).
FUZZED = [(method, path, GenerationMode.POSITIVE) for method, path in OPERATIONS] + [
    (method, path, GenerationMode.NEGATIVE) for method, path in OPERATIONS
    if method == "POST" or path.endswith(("/series", "/series/{series_id}", "/history"))  # the web page's queries
]


@pytest.mark.parametrize("method, path, mode", FUZZED, ids=[f"{m} {p} {mode.value}" for m, p, mode in FUZZED])
def test_no_generated_request_gets_a_5xx_or_an_undocumented_response(api_schema, method, path, mode):
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        case.call_and_validate(checks=CHECKS)

    check()


WINDOW, HORIZON = 24, 12  # the tiny model of tests/conftest.py

finite_values = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)
valid_series = st.lists(
    st.tuples(st.text(min_size=1, max_size=20), st.lists(finite_values, min_size=WINDOW, max_size=WINDOW + 30)),
    min_size=1, max_size=8, unique_by=lambda pair: pair[0],
)


@pytest.fixture(scope="module")
def property_client(tiny_registry):
    with TestClient(create_app(Settings(model_dir=tiny_registry, reload_interval=0)), raise_server_exceptions=True) as client:
        yield client


@given(series=valid_series, horizon=st.integers(min_value=1, max_value=HORIZON))
@settings(max_examples=80, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_valid_request_returns_finite_forecasts_of_the_right_shape(property_client, series, horizon):
    body = {"series": [{"id": sid, "history": history} for sid, history in series], "horizon": horizon}
    response = property_client.post("/v1/forecast", json=body)
    assert response.status_code == 200, response.text
    forecasts = response.json()["forecasts"]
    assert [f["id"] for f in forecasts] == [sid for sid, _ in series]
    for forecast in forecasts:
        assert len(forecast["mean"]) == horizon
        assert all(math.isfinite(v) for v in forecast["mean"])
