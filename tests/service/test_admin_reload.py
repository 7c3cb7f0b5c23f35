"""Hot reload: the admin endpoint's guard, and versions that fail a check are refused while the old one serves."""

import json
import shutil
import threading
import time

import pytest
from fastapi.testclient import TestClient

from paxcast.service.api.app import create_app
from paxcast.service.core.atomic import write_atomic
from paxcast.service.core.contract import sha256_of
from paxcast.service.core.registry import current_version
from paxcast.service.core.settings import Settings
from paxcast.service.inference import holder as holder_module

TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def add_version(registry, version, damage=None):
    """Copy the current version to `version`, optionally damage it, and point CURRENT at it (as a bad deploy would)."""
    base = registry / "air_passengers"
    target = base / version
    shutil.copytree(base / current_version(registry, "air_passengers"), target)
    meta = json.loads((target / "model.json").read_text())
    meta["version"] = version
    if damage:
        damage(target, meta)
    (target / "model.json").write_text(json.dumps(meta))
    write_atomic(base / "CURRENT", f"{version}\n".encode())
    return target


def truncate(target, meta):
    data = (target / "model.onnx").read_bytes()
    (target / "model.onnx").write_bytes(data[: len(data) // 2])
    meta["onnx_sha256"] = sha256_of(target / "model.onnx")  # the hash matches: onnxruntime itself must refuse it


def garbage(target, meta):
    (target / "model.onnx").write_bytes(b"this is not an onnx graph")
    meta["onnx_sha256"] = sha256_of(target / "model.onnx")


def tamper(target, meta):
    with open(target / "model.onnx", "ab") as handle:
        handle.write(b"tampered")


def drop_horizon(target, meta):
    del meta["horizon"], meta["hyperparameters"]["horizon"]


def wrong_horizon(target, meta):
    meta["horizon"] = meta["hyperparameters"]["horizon"] = 99  # the graph gives 12: the probe forecast catches it
    meta["intervals"] = None


def forecast(client, history):
    return client.post("/v1/forecast", json={"series": [{"id": "air", "history": history}], "horizon": 12})


def test_reload_endpoint_is_absent_without_a_token(client):
    response = client.post("/v1/admin/reload", headers=AUTH)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    "headers, status, detail",
    [
        ({}, 401, "admin endpoints need an 'Authorization: Bearer <token>' header"),
        ({"Authorization": "Basic czNjcmV0"}, 401, "admin endpoints need an 'Authorization: Bearer <token>' header"),
        ({"Authorization": "Bearer wrong"}, 403, "the admin token is not valid"),
        ({"Authorization": f"Bearer {TOKEN}x"}, 403, "the admin token is not valid"),
    ],
    ids=["missing", "not-bearer", "wrong", "longer"],
)
def test_reload_endpoint_rejects_bad_credentials(make_client, headers, status, detail):
    client = make_client(admin_token=TOKEN)
    response = client.post("/v1/admin/reload", headers=headers)
    assert response.status_code == status
    assert response.json() == {"detail": detail}


def test_reload_endpoint_switches_to_a_new_version_and_responses_name_it(make_client, registry, air_history):
    client = make_client(admin_token=TOKEN)
    old = current_version(registry, "air_passengers")
    before = forecast(client, air_history)
    assert before.headers["X-Model-Version"] == before.json()["model"]["version"] == old

    add_version(registry, "29990101T000000Z")
    response = client.post("/v1/admin/reload", headers=AUTH)
    assert response.status_code == 200
    assert response.json() == {
        "reloaded": True,
        "detail": "now serving version 29990101T000000Z",
        "model": {"name": "air_passengers", "version": "29990101T000000Z"},
    }
    after = forecast(client, air_history)
    assert after.headers["X-Model-Version"] == after.json()["model"]["version"] == "29990101T000000Z"

    again = client.post("/v1/admin/reload", headers=AUTH)
    assert again.status_code == 200 and again.json()["reloaded"] is False
    assert again.json()["detail"] == "version 29990101T000000Z is already served"


@pytest.mark.parametrize(
    "damage, rule",
    [
        (truncate, "onnxruntime cannot load it"),
        (garbage, "onnxruntime cannot load it"),
        (tamper, "does not match model.json"),
        (drop_horizon, "model.json: hyperparameters.horizon: Field required"),
        (wrong_horizon, "probe forecast gave shape (2, 12)"),
    ],
    ids=["truncated-onnx", "corrupt-onnx", "hash-mismatch", "incomplete-contract", "failing-probe"],
)
def test_a_version_failing_a_check_is_refused_and_the_old_one_keeps_answering(
    make_client, registry, air_history, damage, rule, caplog
):
    client = make_client(admin_token=TOKEN)
    old = current_version(registry, "air_passengers")
    target = add_version(registry, "29990101T000000Z", damage)

    with caplog.at_level("WARNING", logger="paxcast.reload"):
        response = client.post("/v1/admin/reload", headers=AUTH)
    assert response.status_code == 422
    detail = response.json()["detail"]
    shown = target.relative_to(registry)  # files are named inside the registry, never by the server's path
    assert detail.startswith(f"version 29990101T000000Z refused: {shown}") and rule in detail
    assert detail.endswith(f"; still serving {old}")
    assert any("reload refused" in r.getMessage() and rule in r.getMessage() for r in caplog.records)

    answer = forecast(client, air_history)
    assert answer.status_code == 200
    assert answer.headers["X-Model-Version"] == answer.json()["model"]["version"] == old
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["model"]["version"] == old


def test_hash_mismatch_detail_names_both_hashes(make_client, registry):
    client = make_client(admin_token=TOKEN)
    old = current_version(registry, "air_passengers")
    target = add_version(registry, "29990101T000000Z", tamper)
    expected = json.loads((target / "model.json").read_text())["onnx_sha256"]
    actual = sha256_of(target / "model.onnx")
    response = client.post("/v1/admin/reload", headers=AUTH)
    assert response.status_code == 422
    assert response.json() == {
        "detail": "version 29990101T000000Z refused: air_passengers/29990101T000000Z/model.onnx: "
        f"sha256 {actual[:12]}… does not match model.json's {expected[:12]}…; still serving {old}"
    }


def test_a_reload_under_way_answers_409(make_client, registry, monkeypatch):
    client = make_client(admin_token=TOKEN)
    add_version(registry, "29990101T000000Z")
    entered, release = threading.Event(), threading.Event()
    real_load = holder_module.Predictor.load

    def slow_load(*args, **kwargs):
        entered.set()
        release.wait(10)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(holder_module.Predictor, "load", slow_load)
    holder = client.app.state.models.holders["air_passengers"]
    background = threading.Thread(target=holder.reload)
    background.start()
    try:
        assert entered.wait(10)
        response = client.post("/v1/admin/reload", headers=AUTH)
        assert response.status_code == 409
        assert response.json() == {
            "detail": "a reload of model 'air_passengers' is already under way; retry when it has finished"
        }
    finally:
        release.set()
        background.join(10)
    assert holder.predictor.version == "29990101T000000Z"


def test_poller_refuses_a_bad_version_once_and_the_admin_endpoint_rechecks_it(make_client, registry, monkeypatch):
    client = make_client(admin_token=TOKEN)
    old = current_version(registry, "air_passengers")
    add_version(registry, "29990101T000000Z", tamper)
    loads = []
    real_load = holder_module.Predictor.load
    monkeypatch.setattr(holder_module.Predictor, "load", lambda *a, **k: (loads.append(a), real_load(*a, **k))[1])
    holder = client.app.state.models.holders["air_passengers"]

    assert holder.reload(blocking=False) == (False, holder.refused["29990101T000000Z"])
    assert holder.reload(blocking=False)[0] is False
    assert len(loads) == 1  # a known-bad version is not reloaded (nor re-logged) at every poll
    assert client.post("/v1/admin/reload", headers=AUTH).status_code == 422
    assert len(loads) == 2 and holder.predictor.version == old


def test_the_poller_notices_a_new_current_on_its_own(registry, air_history):
    with TestClient(create_app(Settings(model_dir=registry, reload_interval=0.05))) as client:
        add_version(registry, "29990101T000000Z")
        deadline = time.monotonic() + 10
        while forecast(client, air_history).headers["X-Model-Version"] != "29990101T000000Z":
            assert time.monotonic() < deadline, "the poller did not switch to the new version"
            time.sleep(0.05)


def test_a_card_naming_another_version_is_refused_once_and_never_named(
    make_client, registry, air_history, monkeypatch, caplog
):
    """A copied folder whose model.json still names its source is refused with the reason, not reloaded every poll."""
    client = make_client(admin_token=TOKEN)
    old = current_version(registry, "air_passengers")
    base = registry / "air_passengers"
    shutil.copytree(base / old, base / "29990101T000000Z")  # its card still says `old`
    write_atomic(base / "CURRENT", b"29990101T000000Z\n")
    loads = []
    real_load = holder_module.Predictor.load
    monkeypatch.setattr(holder_module.Predictor, "load", lambda *a, **k: (loads.append(a), real_load(*a, **k))[1])
    holder = client.app.state.models.holders["air_passengers"]
    with caplog.at_level("WARNING", logger="paxcast.reload"):
        for _ in range(6):  # six polls
            changed, reason = holder.reload(blocking=False)
            assert changed is False
    assert len(loads) == 1 and reason.endswith(f"model.json: names version '{old}' but lives in '29990101T000000Z'")
    assert len([r for r in caplog.records if "reload refused" in r.getMessage()]) == 1
    answer = forecast(client, air_history)
    assert answer.headers["X-Model-Version"] == answer.json()["model"]["version"] == old


def test_a_current_that_is_not_utf8_is_a_422_and_one_warning(make_client, registry, caplog):
    from tests.service.test_observability import scrape, value

    client = make_client(admin_token=TOKEN)
    old = current_version(registry, "air_passengers")
    pointer = registry / "air_passengers" / "CURRENT"
    pointer.write_bytes(b"\xff\xfe\x00")
    holder = client.app.state.models.holders["air_passengers"]
    before = scrape(client)
    with caplog.at_level("WARNING", logger="paxcast.reload"):
        holder.reload(blocking=False), holder.reload(blocking=False)  # two polls: one warning, one failure counted
    after = scrape(client)
    warnings = [r.getMessage() for r in caplog.records if "reload refused" in r.getMessage()]
    assert len(warnings) == 1 and "air_passengers/CURRENT: is not UTF-8 text" in warnings[0]
    failures = "paxcast_model_reload_failures_total"
    assert value(after, failures, model="air_passengers") - value(before, failures, model="air_passengers") == 1
    response = client.post("/v1/admin/reload", headers=AUTH)
    assert response.status_code == 422
    assert response.json() == {
        "detail": f"air_passengers/CURRENT: is not UTF-8 text; it must hold one version id; still serving {old}"
    }
