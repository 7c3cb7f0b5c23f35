"""Limits: body size (413 before the body is read whole), series per request, history length, horizon."""

from __future__ import annotations

import json

import pytest

LIMIT = 2048


@pytest.fixture
def small_client(make_client):
    return make_client(max_body_bytes=LIMIT, max_series=3, max_history=40)


def body_of(n_series: int, n_values: int, horizon: int = 3) -> dict:
    return {
        "series": [{"id": f"s{i}", "history": [100.0 + k for k in range(n_values)]} for i in range(n_series)],
        "horizon": horizon,
    }


def test_body_declared_larger_than_the_limit_is_413(small_client):
    response = small_client.post("/v1/forecast", content=b" " * (LIMIT + 1))
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"request body of {LIMIT + 1} bytes exceeds the limit of {LIMIT} bytes (PAXCAST_MAX_BODY_BYTES)"
    }
    assert response.headers["connection"] == "close"


def test_streamed_body_larger_than_the_limit_is_413(small_client):
    def chunks():  # no Content-Length: the body arrives chunked and is counted as it streams
        for _ in range(10):
            yield b" " * 512

    response = small_client.post("/v1/forecast", content=chunks())
    assert response.status_code == 413
    assert response.json() == {"detail": f"request body exceeds the limit of {LIMIT} bytes (PAXCAST_MAX_BODY_BYTES)"}


def test_body_within_the_limit_is_served(small_client):
    raw = json.dumps(body_of(1, 24))
    assert len(raw) <= LIMIT
    assert small_client.post("/v1/forecast", content=raw).status_code == 200


def test_too_many_series_is_413_naming_the_setting(small_client):
    response = small_client.post("/v1/forecast", json=body_of(4, 24))
    assert response.status_code == 413
    assert response.json() == {"detail": "request has 4 series; the limit is 3 (PAXCAST_MAX_SERIES)"}


def test_too_long_history_is_413_naming_the_series(small_client):
    response = small_client.post("/v1/forecast", json=body_of(1, 41))
    assert response.status_code == 413
    assert response.json() == {"detail": "series 's0': history has 41 values; the limit is 40 (PAXCAST_MAX_HISTORY)"}


def test_horizon_beyond_the_model_is_422(small_client):
    response = small_client.post("/v1/forecast", json=body_of(1, 24, horizon=13))
    assert response.status_code == 422
    assert response.json() == {"detail": "horizon 13 exceeds the model's horizon 12"}


def test_response_over_the_limit_is_413_before_any_work(make_client, monkeypatch):
    from paxcast.service.inference.predictor import Predictor

    prepared = []
    original = Predictor.prepare
    monkeypatch.setattr(Predictor, "prepare", lambda self, body: prepared.append(body) or original(self, body))
    client = make_client(max_response_bytes=2000)
    body = {**body_of(3, 24), "level": [50, 60, 70, 80, 90]}
    response = client.post("/v1/forecast", json=body)
    assert response.status_code == 413
    assert response.json() == {
        "detail": "the response could take 2376 bytes (3 series x horizon 3 x 11 numbers x 24 bytes); "
        "the limit is 2000 (PAXCAST_MAX_RESPONSE_BYTES)"
    }
    assert prepared == []
    assert client.post("/v1/forecast", json=body_of(3, 24)).status_code == 200
    assert len(prepared) == 1
