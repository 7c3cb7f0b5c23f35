"""Issue 30's registry cases through HTTP: a default whose served card names another model, a CURRENT that
is not a regular file, and broken versions whose problems must not show the server's absolute paths."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import threading
import time

import pytest
from prometheus_client import REGISTRY, generate_latest

from paxcast.service.core.contract import read_card
from paxcast.service.core.exceptions import ModelError
from paxcast.service.core.publish import rollback
from paxcast.service.core.registry import current_version
from paxcast.service.inference.predictor import Predictor, check_servable
from tests.service.conftest import GRU
from tests.service.test_models import AUTH, TOKEN, add_version, body, client_for
from tests.serving import serve, wait_until


def test_readyz_is_a_503_naming_a_default_whose_card_names_another_model(models_root):
    """Issue 30: a default model serving a card of another model made /readyz a 500 (StopIteration)."""
    with client_for(models_root) as client:
        holder = client.app.state.models.get("air_passengers")
        other = models_root / GRU / current_version(models_root, GRU)
        holder.predictor = Predictor.load(other, name=GRU)  # what an older build served: the load check refuses it now
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {
            "detail": f"model 'air_passengers' serves a version of model '{GRU}' ({other.name}); "
            "the default model 'air_passengers' is not ready"
        }


def info_lines(name: str) -> list[str]:
    """The `paxcast_model_info` lines of model `name` in the process's own Prometheus registry."""
    text = generate_latest(REGISTRY).decode()
    return [line for line in text.splitlines() if line.startswith(f'paxcast_model_info{{name="{name}"')]


def test_model_info_keeps_one_line_per_model_across_switches(models_root):
    """Issue 30: switching back from a version left the old label set behind (at 0, or at 1 under another name)."""
    with client_for(models_root) as client:
        holder = client.app.state.models.get(GRU)
        first = holder.predictor.version
        add_version(models_root, GRU, "29990101T000000Z")
        assert holder.reload() == (True, "now serving version 29990101T000000Z")
        assert info_lines(GRU) == [f'paxcast_model_info{{name="{GRU}",version="29990101T000000Z"}} 1.0']
        (models_root / GRU / "CURRENT").write_text(first + "\n")
        assert holder.reload() == (True, f"now serving version {first}")
        assert info_lines(GRU) == [f'paxcast_model_info{{name="{GRU}",version="{first}"}} 1.0']
        shutil.rmtree(models_root / GRU / "29990101T000000Z")


def finishes(call, seconds: float = 5.0):
    """`call()`'s result, or AssertionError if it is still running after `seconds` (a blocked read)."""
    outcome = {}

    def run():
        try:
            outcome["result"] = call()
        except Exception as exc:  # raised again in the test's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still blocked after {seconds:g} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


@contextlib.contextmanager
def fifo_at(path):
    """A FIFO where `path` was; on leaving, a reader still blocked on it (today's bug) gets end-of-file."""
    path.unlink()
    os.mkfifo(path)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):  # ENXIO: nobody is reading it, which is the point
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def test_a_fifo_current_is_its_models_problem_and_the_others_still_reload(models_root):
    """Issue 30: a FIFO CURRENT blocked the poller for good; the admin reload answered 409 for ever."""
    with client_for(models_root, admin_token=TOKEN) as client:
        models = client.app.state.models
        served = models.get(GRU).predictor.version
        add_version(models_root, "air_passengers", "29990101T000000Z")
        with fifo_at(models_root / GRU / "CURRENT"):
            finishes(models.reload_all)  # one poll: GRU comes first and must not hold up air_passengers
            assert models.get("air_passengers").predictor.version == "29990101T000000Z"
            problem = f"{GRU}/CURRENT: cannot read the current-version pointer (not a regular file: a FIFO)"
            assert models.get(GRU).problem == problem and models.get(GRU).predictor.version == served
            response = finishes(lambda: client.post(f"/v1/admin/reload?model={GRU}", headers=AUTH))
            assert response.status_code == 422
            assert response.json() == {"detail": f"{problem}; still serving {served}"}
            listed = {m["name"]: m["status"] for m in client.get("/v1/models").json()}
            assert listed == {"air_passengers": "ready", GRU: problem}


@pytest.mark.e2e  # a real `paxcast serve`, its poller on
@pytest.mark.timeout(120)
def test_a_real_server_with_a_fifo_current_still_exits_on_sigterm(registry, tmp_path):
    """Issue 30: the poller blocked in the FIFO's open, and SIGTERM did not end the server within 30 s."""
    log = tmp_path / "serve.log"
    with serve(registry, log, reload_interval=0.2) as server, fifo_at(registry / "air_passengers" / "CURRENT"):
        wait_until(lambda: "not a regular file: a FIFO" in server.output(), 10, "the poller refused the FIFO")
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=15)
        assert server.process.returncode == 0 and time.monotonic() - started < 15


@pytest.mark.parametrize("file", ["model.json", "model.onnx"])
def test_a_version_file_that_is_a_fifo_is_refused_at_once(models_root, file):
    version_dir = models_root / GRU / current_version(models_root, GRU)
    with fifo_at(version_dir / file):
        with pytest.raises(ModelError, match=f"^{version_dir / file}: .*not a regular file: a FIFO"):
            finishes(lambda: read_card(version_dir))
        with pytest.raises(ModelError, match=f"^{version_dir / file}: .*not a regular file: a FIFO"):
            finishes(lambda: Predictor.load(version_dir))


@pytest.mark.parametrize("file", ["backtest.json", "history.jsonl"])
def test_a_model_folder_file_that_is_a_fifo_never_holds_a_request(models_root, file):
    (models_root / GRU / file).touch()
    with client_for(models_root) as client, fifo_at(models_root / GRU / file):
        backtest = finishes(lambda: client.get(f"/v1/models/{GRU}/backtest"))
        history = finishes(lambda: client.get(f"/v1/models/{GRU}/history"))
    answer = backtest if file == "backtest.json" else history
    assert answer.status_code == 404
    assert answer.json() == {
        "detail": f"model '{GRU}': {file} in the registry cannot be read (not a regular file: a FIFO)"
    }


def missing_version(version_dir):
    shutil.rmtree(version_dir)


def broken_json(version_dir):
    (version_dir / "model.json").write_text("{not json")


def tampered_onnx(version_dir):
    with open(version_dir / "model.onnx", "ab") as handle:
        handle.write(b"tampered")


def linked_out(version_dir):
    outside = version_dir.parents[2] / "outside"
    shutil.move(version_dir, outside)
    version_dir.symlink_to(outside)


def wrong_horizon(version_dir):
    card = json.loads((version_dir / "model.json").read_text())
    card["hyperparameters"]["horizon"], card["intervals"] = 99, None  # the graph gives 12: the probe refuses it
    card.pop("horizon", None)
    (version_dir / "model.json").write_text(json.dumps(card))


@pytest.mark.parametrize(
    "damage", [missing_version, broken_json, tampered_onnx, linked_out, wrong_horizon], ids=lambda f: f.__name__
)
def test_what_clients_read_about_a_broken_version_never_holds_a_server_path(models_root, air_history, damage):
    """Issue 30: /v1/models, the 503s and /readyz showed the registry's absolute path to anyone."""
    damage(models_root / GRU / current_version(models_root, GRU))
    with client_for(models_root, admin_token=TOKEN) as client:
        assert client.app.state.models.get(GRU).predictor is None
        answers = {
            "models": client.get("/v1/models"),
            "card": client.get(f"/v1/models/{GRU}"),
            "forecast": client.post(f"/v1/models/{GRU}/forecast", json=body(air_history)),
            "series": client.get(f"/v1/models/{GRU}/series"),
            "readyz": client.get("/readyz"),
            "reload": client.post(f"/v1/admin/reload?model={GRU}", headers=AUTH),
        }
    statuses = {what: answer.status_code for what, answer in answers.items()}
    assert statuses == {"models": 200, "card": 503, "forecast": 503, "series": 503, "readyz": 503, "reload": 422}
    status = {m["name"]: m["status"] for m in answers["models"].json()}[GRU]
    assert status.startswith(f"version {current_version(models_root, GRU)} refused: {GRU}/")
    for what, answer in answers.items():
        assert str(models_root) not in answer.text and "/tmp" not in answer.text, f"{what}: {answer.text}"


def test_a_probe_failing_after_load_is_named_inside_the_registry(models_root):
    """/readyz probes every served version again: its refusal names the version inside the registry too."""
    with client_for(models_root) as client:
        holder = client.app.state.models.get(GRU)
        served = holder.predictor
        longer = served.card.hyperparameters.model_copy(update={"horizon": 99})  # the graph gives 12
        holder.predictor = dataclasses.replace(served, card=served.card.model_copy(update={"hyperparameters": longer}))
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["detail"] == (
        f"model '{GRU}' version {served.version} does not answer: "
        f"{GRU}/{served.version}: probe forecast gave shape (2, 12), finite=True"
    )


def surrogate_data_file(card):
    card["data_file"] = "\udcff.csv"  # what `retrain --data` wrote for a file name that is not UTF-8


def huge_score(card):
    card["intervals"]["relative_errors"][0][0] = 1e300


@pytest.mark.parametrize(
    "damage, rule",
    [
        (surrogate_data_file, "data_file holds a lone surrogate (\\udcff); a card must be UTF-8 text"),
        (huge_score, "intervals.relative_errors.0.0: Input should be less than or equal to 1000"),
    ],
    ids=["surrogate-data_file", "score-1e300"],
)
def test_rollback_and_reload_refuse_a_card_that_would_break_later(models_root, air_history, damage, rule):
    """Issue 30: such cards loaded, then made /v1/models/<name> and /series a 500, or every `level` request a 422."""
    name, served = "air_passengers", current_version(models_root, "air_passengers")
    add_version(models_root, name, "29990101T000000Z")
    card_path = models_root / name / "29990101T000000Z" / "model.json"
    card = json.loads(card_path.read_text())
    damage(card)
    card_path.write_text(json.dumps(card))
    (models_root / name / "CURRENT").write_text(served + "\n")
    with pytest.raises(ModelError, match=re.escape(f"{card_path}: {rule}")):
        rollback(models_root, name, "29990101T000000Z", check=check_servable)
    assert current_version(models_root, name) == served
    with client_for(models_root, admin_token=TOKEN) as client:
        (models_root / name / "CURRENT").write_text("29990101T000000Z\n")  # as a bad deploy would
        response = client.post(f"/v1/admin/reload?model={name}", headers=AUTH)
        assert response.status_code == 422
        assert response.json() == {
            "detail": f"version 29990101T000000Z refused: {name}/29990101T000000Z/model.json: {rule}; "
            f"still serving {served}"
        }
        assert client.get(f"/v1/models/{name}").status_code == 200
        with_levels = client.post("/v1/forecast", json={**body(air_history), "level": [80]})
        assert with_levels.status_code == 200 and with_levels.json()["model"]["version"] == served
