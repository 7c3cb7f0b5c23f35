"""Every registered model served by one process: listing, cards, forecasts, reloads and readiness per model."""

from __future__ import annotations

import json
import logging
import shutil

import pytest
from fastapi.testclient import TestClient

from paxcast.service.api.app import create_app
from paxcast.service.core.atomic import write_atomic
from paxcast.service.core.contract import read_card
from paxcast.service.core.exceptions import ModelError
from paxcast.service.core.publish import register, rollback
from paxcast.service.core.registry import current_version
from paxcast.service.core.settings import Settings
from paxcast.service.inference.holder import ServedModels
from paxcast.service.inference.predictor import check_servable
from tests.service.conftest import GRU

TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def client_for(root, **settings) -> TestClient:
    return TestClient(
        create_app(Settings(model_dir=root, reload_interval=0, **settings)), raise_server_exceptions=False
    )


def body(history, n=1):
    return {"series": [{"id": f"s{i}", "history": history[-24:]} for i in range(n)], "horizon": 3}


def add_version(root, name, version):
    """A copy of the current version under a new id, made current (as a retrain would)."""
    base = root / name
    card = read_card(base / current_version(root, name))
    registered = register(
        root,
        name,
        base / card.version / "model.onnx",
        lambda v, sha: card.model_copy(update={"version": v, "onnx_sha256": sha}),
        check=check_servable,
        make_current=False,
    )
    (base / registered).rename(base / version)
    text = json.loads((base / version / "model.json").read_text())
    (base / version / "model.json").write_text(json.dumps({**text, "version": version}))
    write_atomic(base / "CURRENT", f"{version}\n".encode())


def test_every_registered_model_is_listed_with_its_shape(models_root):
    with client_for(models_root) as client:
        listed = {m["name"]: m for m in client.get("/v1/models").json()}
    assert set(listed) == {"air_passengers", GRU}
    gru = listed[GRU]
    assert (gru["cell"], gru["freq"], gru["window"], gru["horizon"], gru["status"], gru["default"]) == (
        "gru",
        "MS",
        24,
        12,
        "ready",
        False,
    )
    assert (
        gru["version"] == current_version(models_root, GRU)
        and gru["requires"] == ["history"]
        and gru["intervals"] is True
    )
    assert listed["air_passengers"]["default"] is True and listed["air_passengers"]["cell"] == "lstm"


def test_each_model_forecasts_on_its_own_route_and_the_default_stays(models_root, air_history):
    with client_for(models_root) as client:
        gru = client.post(f"/v1/models/{GRU}/forecast", json=body(air_history))
        lstm = client.post("/v1/models/air_passengers/forecast", json=body(air_history))
        default = client.post("/v1/forecast", json=body(air_history))
        card = client.get(f"/v1/models/{GRU}").json()
    assert gru.status_code == lstm.status_code == default.status_code == 200
    assert gru.json()["model"] == {"name": GRU, "version": current_version(models_root, GRU)}
    assert gru.headers["X-Model-Version"] == current_version(models_root, GRU)
    assert default.json() == lstm.json() and default.json()["model"]["name"] == "air_passengers"
    assert gru.json()["forecasts"][0]["mean"] != lstm.json()["forecasts"][0]["mean"]
    assert card["cell"] == "gru" and card["hyperparameters"]["cell"] == "gru"


def test_an_unknown_model_is_a_404_naming_it(models_root, air_history):
    with client_for(models_root) as client:
        for response in (
            client.post("/v1/models/nope/forecast", json=body(air_history)),
            client.get("/v1/models/nope"),
        ):
            assert response.status_code == 404
            assert response.json() == {"detail": f"model 'nope' is not served here (served: {GRU}, air_passengers)"}


def test_limits_and_rules_hold_on_every_model_route(models_root, air_history):
    with client_for(models_root, max_series=2) as client:
        too_many = client.post(f"/v1/models/{GRU}/forecast", json=body(air_history, n=3))
        short = client.post(
            f"/v1/models/{GRU}/forecast", json={"series": [{"id": "a", "history": [1.0] * 5}], "horizon": 3}
        )
    assert too_many.status_code == 413 and too_many.json() == {
        "detail": "request has 3 series; the limit is 2 (PAXCAST_MAX_SERIES)"
    }
    assert short.status_code == 422 and short.json() == {
        "detail": "series 'a': history has 5 values, the model needs at least 24"
    }


def test_reloading_one_model_leaves_the_other_untouched(models_root, air_history):
    with client_for(models_root, admin_token=TOKEN) as client:
        models = client.app.state.models
        lstm_before = models.get("air_passengers").predictor
        add_version(models_root, GRU, "29990101T000000Z")
        add_version(models_root, "air_passengers", "29990101T000000Z")  # waiting: nobody reloads it here
        response = client.post(f"/v1/admin/reload?model={GRU}", headers=AUTH)
        assert response.status_code == 200
        assert response.json() == {
            "reloaded": True,
            "detail": "now serving version 29990101T000000Z",
            "model": {"name": GRU, "version": "29990101T000000Z"},
        }
        assert models.get("air_passengers").predictor is lstm_before  # the very same loaded object
        answer = client.post(f"/v1/models/{GRU}/forecast", json=body(air_history))
        assert answer.headers["X-Model-Version"] == "29990101T000000Z"
        unknown = client.post("/v1/admin/reload?model=nope", headers=AUTH)
        assert unknown.status_code == 404 and unknown.json()["detail"].startswith("model 'nope' is not served here")


def test_a_model_that_fails_to_load_is_named_by_readyz_and_the_others_serve(models_root, air_history, caplog):
    write_atomic(models_root / GRU / "CURRENT", b"19990101T000000Z\n")  # a version that does not exist
    with caplog.at_level(logging.ERROR, logger="paxcast"), client_for(models_root) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["detail"].startswith(
            f"model '{GRU}' is not loaded: version 19990101T000000Z refused: "
            f"{GRU}/19990101T000000Z/model.json: cannot read"  # named inside the registry, never by its path
        )
        assert client.post("/v1/forecast", json=body(air_history)).status_code == 200
        refused = client.post(f"/v1/models/{GRU}/forecast", json=body(air_history))
        assert refused.status_code == 503 and refused.json()["detail"].startswith(f"model '{GRU}' is not loaded: ")
        listed = {m["name"]: m for m in client.get("/v1/models").json()}
        assert listed[GRU]["version"] is None and listed[GRU]["status"].startswith("version 19990101T000000Z refused")
    assert any(GRU in r.getMessage() for r in caplog.records)


def test_paxcast_models_chooses_what_is_served(models_root, monkeypatch):
    monkeypatch.setenv("PAXCAST_MODELS", "air_passengers")
    with TestClient(create_app(Settings(model_dir=models_root, reload_interval=0))) as client:
        assert [m["name"] for m in client.get("/v1/models").json()] == ["air_passengers"]
    with pytest.raises(
        ModelError, match=r"^PAXCAST_MODEL_NAME 'air_passengers' is not among the served models \(air_gru\)$"
    ):
        ServedModels(Settings(model_dir=models_root, models=[GRU]))


def test_start_up_fails_only_when_no_model_loads(models_root):
    for name in ("air_passengers", GRU):
        write_atomic(models_root / name / "CURRENT", b"19990101T000000Z\n")
    with pytest.raises(ModelError, match="19990101T000000Z refused"):
        ServedModels(Settings(model_dir=models_root)).load_all()


def test_forecast_metrics_and_the_request_log_name_the_model(models_root, air_history, caplog):
    from tests.service.test_observability import scrape, value

    with caplog.at_level(logging.INFO, logger="paxcast.access"), client_for(models_root) as client:
        before = scrape(client)
        client.post(f"/v1/models/{GRU}/forecast", json=body(air_history, n=2))
        after = scrape(client)
    for name, added in ((GRU, 2), ("air_passengers", 0)):
        assert (
            value(after, "paxcast_forecast_series_total", model=name)
            - value(before, "paxcast_forecast_series_total", model=name)
            == added
        )
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "paxcast.access"]
    (line,) = [entry for entry in lines if entry["path"] == f"/v1/models/{GRU}/forecast"]
    assert (
        line["model"] == GRU
        and line["model_version"] == current_version(models_root, GRU)
        and line["route"] == "/v1/models/{name}/forecast"
    )


@pytest.mark.e2e
def test_one_real_paxcast_serve_serves_two_models_and_reloads_one(models_root, air_history, tmp_path):
    """The issue's proof on a real process: two models at once, one reloaded alone, a failing one named."""
    import urllib.error
    import urllib.request

    from tests.serving import serve

    def call(base, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            base + path, data=data, headers={"Content-Type": "application/json", **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read()), response.headers
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read()), exc.headers

    with serve(models_root, tmp_path / "serve.log", admin_token=TOKEN) as server:
        status, listed, _ = call(server.base, "/v1/models")
        assert status == 200 and {m["name"] for m in listed} == {"air_passengers", GRU}
        lstm_version = current_version(models_root, "air_passengers")
        for name in ("air_passengers", GRU):
            status, answer, headers = call(server.base, f"/v1/models/{name}/forecast", body(air_history))
            assert (
                status == 200
                and answer["model"]["name"] == name
                and headers["X-Model-Version"] == current_version(models_root, name)
            )

        add_version(models_root, GRU, "29990101T000000Z")
        status, reloaded, _ = call(server.base, f"/v1/admin/reload?model={GRU}", body={}, headers=AUTH)
        assert status == 200 and reloaded["model"] == {"name": GRU, "version": "29990101T000000Z"}
        assert (
            call(server.base, f"/v1/models/{GRU}/forecast", body(air_history))[2]["X-Model-Version"]
            == "29990101T000000Z"
        )
        assert call(server.base, "/v1/forecast", body(air_history))[2]["X-Model-Version"] == lstm_version

    write_atomic(models_root / GRU / "CURRENT", b"19990101T000000Z\n")
    with serve(models_root, tmp_path / "serve-broken.log", ready_path="/healthz") as server:
        status, problem, _ = call(server.base, "/readyz")
        assert status == 503 and problem["detail"].startswith(
            f"model '{GRU}' is not loaded: version 19990101T000000Z refused"
        )
        assert call(server.base, "/v1/forecast", body(air_history))[0] == 200


def test_another_models_version_is_refused_under_this_name(models_root):
    other = models_root / GRU / current_version(models_root, GRU)
    planted = models_root / "air_passengers" / "20990101T000000Z"
    shutil.copytree(other, planted)
    card = json.loads((planted / "model.json").read_text())
    (planted / "model.json").write_text(json.dumps({**card, "version": planted.name}))
    with pytest.raises(ModelError, match=f"the card names model '{GRU}', served as 'air_passengers'"):
        check_servable(planted, version=planted.name)
    with pytest.raises(ModelError, match="served as 'air_passengers'"):
        rollback(models_root, "air_passengers", planted.name, check=check_servable)
    assert current_version(models_root, "air_passengers") != planted.name
