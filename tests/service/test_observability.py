"""Request ids, one JSON log line per request, and the Prometheus metrics (in process)."""

from __future__ import annotations

import json
import logging
import os
import shutil

from prometheus_client.parser import text_string_to_metric_families


def scrape(client) -> dict[tuple[str, tuple], float]:
    """`/metrics` as {(sample name, sorted labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples, metric, **labels) -> float:
    return samples.get((metric, tuple(sorted(labels.items()))), 0.0)


def forecast_body(air_history, n=1, horizon=3):
    return {"series": [{"id": f"s{i}", "history": air_history[-24:]} for i in range(n)], "horizon": horizon}


def test_incoming_request_id_is_returned(client):
    response = client.get("/healthz", headers={"X-Request-ID": "req-42.a"})
    assert response.headers["x-request-id"] == "req-42.a"


def test_missing_or_unsafe_request_id_is_replaced_by_a_fresh_one(client):
    fresh = client.get("/healthz").headers["x-request-id"]
    unsafe = client.get("/healthz", headers={"X-Request-ID": 'a b"<script>'}).headers["x-request-id"]
    assert len(fresh) == 32 and len(unsafe) == 32 and fresh != unsafe and "<" not in unsafe


def test_each_request_writes_one_json_log_line(client, air_history, caplog):
    with caplog.at_level(logging.INFO, logger="paxcast.access"):
        client.post("/v1/forecast", json=forecast_body(air_history), headers={"X-Request-ID": "line-1"})
        client.get("/no/such/path")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "paxcast.access"]
    assert len(lines) == 2
    first, second = lines
    version = client.get("/v1/model").json()["version"]
    assert first["method"] == "POST" and first["path"] == "/v1/forecast" and first["status"] == 200
    assert first["request_id"] == "line-1" and first["model_version"] == version and first["duration_ms"] > 0
    assert second["status"] == 404 and second["route"] == "unmatched"


def test_requests_are_counted_by_route_template_and_status(client, air_history):
    before = scrape(client)
    client.post("/v1/forecast", json=forecast_body(air_history))
    client.post("/v1/forecast", json={"series": [], "horizon": 3})
    client.get("/definitely/not/here/123")
    after = scrape(client)
    for status, added in (("200", 1), ("422", 1)):
        labels = dict(method="POST", route="/v1/forecast", status=status)
        assert (
            value(after, "paxcast_http_requests_total", **labels)
            - value(before, "paxcast_http_requests_total", **labels)
            == added
        )
        assert (
            value(after, "paxcast_http_request_duration_seconds_count", **labels)
            - value(before, "paxcast_http_request_duration_seconds_count", **labels)
            == added
        )
    unmatched = dict(method="GET", route="unmatched", status="404")
    assert (
        value(after, "paxcast_http_requests_total", **unmatched)
        - value(before, "paxcast_http_requests_total", **unmatched)
        == 1
    )
    assert not any("/definitely" in str(labels) for _, labels in after)  # raw paths never become labels


def test_series_points_and_inference_are_counted(client, air_history):
    before = scrape(client)
    client.post("/v1/forecast", json=forecast_body(air_history, n=5, horizon=4))
    client.post("/v1/forecast", json=forecast_body(air_history[:5], n=2))  # refused: counts nothing
    after = scrape(client)
    model = dict(model="air_passengers")
    assert (
        value(after, "paxcast_forecast_series_total", **model) - value(before, "paxcast_forecast_series_total", **model)
        == 5
    )
    assert (
        value(after, "paxcast_forecast_points_total", **model) - value(before, "paxcast_forecast_points_total", **model)
        == 20
    )
    assert (
        value(after, "paxcast_inference_duration_seconds_count", **model)
        - value(before, "paxcast_inference_duration_seconds_count", **model)
        == 1
    )


def test_model_info_names_the_served_version(client):
    version = client.get("/v1/model").json()["version"]
    assert value(scrape(client), "paxcast_model_info", name="air_passengers", version=version) == 1


def test_reloads_and_failed_reloads_are_counted(client, registry):
    holder = client.app.state.models.holders["air_passengers"]
    old = holder.predictor.version
    base = registry / "air_passengers"
    new = "29990101T000000Z"
    shutil.copytree(base / old, base / new)
    meta = json.loads((base / new / "model.json").read_text())
    (base / new / "model.json").write_text(json.dumps({**meta, "version": new}))

    before = scrape(client)
    (base / "CURRENT").write_text(new + "\n")
    assert holder.reload() == (True, f"now serving version {new}")
    (base / "CURRENT").write_text("no-such-version\n")
    assert holder.reload()[0] is False
    after = scrape(client)

    model = dict(model="air_passengers")
    assert (
        value(after, "paxcast_model_reloads_total", **model) - value(before, "paxcast_model_reloads_total", **model)
        == 1
    )
    assert (
        value(after, "paxcast_model_reload_failures_total", **model)
        - value(before, "paxcast_model_reload_failures_total", **model)
        == 1
    )
    assert value(after, "paxcast_model_info", name="air_passengers", version=new) == 1
    assert value(after, "paxcast_model_info", name="air_passengers", version=old) == 0


def test_a_client_gone_mid_upload_is_counted_as_499_without_a_traceback(client, caplog):
    import asyncio

    app = client.app
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/forecast",
        "raw_path": b"/v1/forecast",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test"), (b"content-length", b"100000")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }
    incoming = [{"type": "http.request", "body": b'{"series": [', "more_body": True}, {"type": "http.disconnect"}]
    sent = []

    async def receive():
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    before = scrape(client)
    with caplog.at_level(logging.INFO):
        asyncio.run(app(scope, receive, send))  # raises nothing
    after = scrape(client)
    labels = dict(method="POST", route="/v1/forecast", status="499")
    assert (
        value(after, "paxcast_http_requests_total", **labels) - value(before, "paxcast_http_requests_total", **labels)
        == 1
    )
    assert value(after, "paxcast_http_requests_total", method="POST", route="/v1/forecast", status="500") == value(
        before, "paxcast_http_requests_total", method="POST", route="/v1/forecast", status="500"
    )
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "paxcast.access"]
    assert [line["status"] for line in lines] == [499]
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
    assert sent == []


def test_odd_methods_and_paths_keep_the_metrics_bounded(client):
    client.get("/nowhere-0")
    before = len(client.get("/metrics").content)
    for i in range(300):
        client.request(f"FUZZ{i}", f"/nowhere-{i}")
    samples = scrape(client)
    assert len(client.get("/metrics").content) < before + 4000
    methods = {dict(labels)["method"] for (name, labels) in samples if name == "paxcast_http_requests_total"}
    assert "FUZZ7" not in methods and "other" in methods


def test_a_dead_supervisors_metrics_directory_is_removed_at_start(tmp_path):
    import subprocess
    import sys

    from paxcast.service.api import metrics

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / f"paxcast-metrics-{int(dead.stdout)}-abc").mkdir()
    (tmp_path / f"paxcast-metrics-{os.getpid()}-live").mkdir()
    assert metrics.drop_stale_directories(str(tmp_path)) == [f"paxcast-metrics-{int(dead.stdout)}-abc"]
    assert [p.name for p in tmp_path.iterdir()] == [f"paxcast-metrics-{os.getpid()}-live"]
