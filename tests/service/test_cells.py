"""Every recurrent cell is served by the unchanged service: same contract, cell reported."""

import pytest
from fastapi.testclient import TestClient

from paxcast.service.api.app import create_app
from paxcast.service.core.settings import Settings
from paxcast.training.pipeline import train_and_register


@pytest.mark.parametrize("cell, layers", [("gru", 1), pytest.param("peephole", 2, marks=pytest.mark.slow)])
def test_service_serves_any_cell(tmp_path, air_csv, air_history, cell, layers):
    train_and_register(
        air_csv,
        tmp_path,
        "cells",
        show_progress=False,
        window=24,
        horizon=6,
        hidden=6,
        epochs=3,
        ensemble=1,
        cell=cell,
        layers=layers,
    )
    with TestClient(create_app(Settings(model_dir=tmp_path, model_name="cells", reload_interval=0))) as client:
        meta = client.get("/v1/model").json()
        assert (meta["cell"], meta["layers"]) == (cell, layers)
        response = client.post(
            "/v1/forecast", json={"series": [{"id": "air", "history": air_history[-24:]}], "horizon": 6}
        )
        assert response.status_code == 200
        assert len(response.json()["forecasts"][0]["mean"]) == 6


def test_log_model_refuses_non_positive_history(tmp_path, air_csv, air_history):
    train_and_register(
        air_csv,
        tmp_path,
        "logged",
        show_progress=False,
        window=24,
        horizon=6,
        hidden=4,
        epochs=2,
        ensemble=1,
        transform="log",
    )
    with TestClient(create_app(Settings(model_dir=tmp_path, model_name="logged", reload_interval=0))) as client:
        history = air_history[-24:-1] + [0.0]
        response = client.post("/v1/forecast", json={"series": [{"id": "air", "history": history}], "horizon": 6})
        assert response.status_code == 422
        assert response.json() == {"detail": "series 'air': history must be positive for this log-transformed model"}
