"""The service as a real process on 127.0.0.1: load, metrics across workers, graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(registry: Path, tmp_path: Path, **settings):
    """`paxcast serve` on a free loopback port; yields (process, base url, stdout file). Always stopped."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAXCAST_", "PROMETHEUS_"))}
    env.update(PAXCAST_HOST="127.0.0.1", PAXCAST_PORT=str(port), PAXCAST_MODEL_DIR=str(registry), PAXCAST_RELOAD_INTERVAL="0")
    env.update({f"PAXCAST_{k.upper()}": str(v) for k, v in settings.items()})
    out = tmp_path / f"serve-{port}.log"
    with out.open("wb") as handle:
        process = subprocess.Popen([sys.executable, "-m", "paxcast.training.cli", "serve"], env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                assert process.poll() is None, out.read_text()
                assert time.monotonic() < deadline, "service did not become ready in 60 s"
                time.sleep(0.2)
        yield process, base, out
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def forecast_body(history: list[float], n: int = 1, horizon: int = 6) -> dict:
    return {"series": [{"id": f"s{i}", "history": history} for i in range(n)], "horizon": horizon}


async def hammer(base: str, body: dict, concurrency: int, seconds: float) -> tuple[int, list[str]]:
    """`concurrency` keep-alive clients posting `body` for `seconds`; returns (answers, problems)."""
    problems: list[str] = []
    answered = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def one_client() -> None:
            nonlocal answered
            while time.monotonic() < deadline:
                try:
                    response = await client.post("/v1/forecast", json=body)
                except httpx.HTTPError as exc:
                    problems.append(repr(exc))
                    continue
                answered += 1
                if response.status_code != 200 or len(response.json()["forecasts"]) != len(body["series"]):
                    problems.append(f"{response.status_code}: {response.text[:200]}")

        await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return answered, problems


def test_three_seconds_at_concurrency_32_give_no_errors(registry, tmp_path, air_history):
    with serving(registry, tmp_path) as (process, base, _):
        answered, problems = asyncio.run(hammer(base, forecast_body(air_history[-24:], n=2), concurrency=32, seconds=3.0))
        assert process.poll() is None
    assert problems == []
    assert answered > 100  # it really was under load


def scrape(base: str) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text) for s in f.samples}


def access_lines(out: Path) -> list[dict]:
    """The JSON request lines among the server's output."""
    return [json.loads(line) for line in out.read_text().splitlines() if line.startswith("{")]


def test_metrics_add_up_across_two_workers_and_sigterm_exits_0(registry, tmp_path, air_history):
    body = json.dumps(forecast_body(air_history[-24:], n=3)).encode()
    with serving(registry, tmp_path, workers=2) as (process, base, out):
        sent, pids = 0, set()
        deadline = time.monotonic() + 60
        # A fresh connection per request lets the kernel hand them to either worker; go on until both served.
        while (len(pids) < 2 or sent < 40) and time.monotonic() < deadline:
            request = urllib.request.Request(base + "/v1/forecast", data=body, headers={"Content-Type": "application/json", "Connection": "close"})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
            sent += 1
            pids = {line["pid"] for line in access_lines(out) if line["path"] == "/v1/forecast"}
        assert len(pids) == 2, "both workers should have answered"
        key = ("paxcast_http_requests_total", (("method", "POST"), ("route", "/v1/forecast"), ("status", "200")))
        for _ in range(4):  # whichever worker answers the scrape reports the sum of both
            samples = scrape(base)
            assert samples[key] == sent
            assert samples[("paxcast_forecast_series_total", (("model", "air_passengers"),))] == 3 * sent
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_sigterm_stops_accepting_and_finishes_the_request_in_flight(registry, tmp_path, air_history):
    body = json.dumps(forecast_body(air_history[-24:], n=500)).encode()
    with serving(registry, tmp_path) as (process, base, _):
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            head = f"POST /v1/forecast HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            sock.sendall(head + body[: len(body) // 2])  # the request is in flight: half its body has arrived
            time.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            while True:  # new connections are refused while the old one is still open
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                except ConnectionRefusedError:
                    break
                assert time.monotonic() < deadline, "still accepting 10 s after SIGTERM"
                time.sleep(0.1)
            assert process.poll() is None, "exited before finishing the request in flight"
            sock.sendall(body[len(body) // 2 :])
            raw = b""
            while chunk := sock.recv(1 << 16):
                raw += chunk
        head, _, payload = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert len(json.loads(payload)["forecasts"]) == 500
        assert process.wait(timeout=30) == 0
