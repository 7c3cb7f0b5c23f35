"""The service as a real process on 127.0.0.1: load, metrics across workers, graceful shutdown."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx
import pytest
from live import access_lines, scrape

from tests.serving import read_everything_sent, serve, wait_until

pytestmark = pytest.mark.e2e


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


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_three_seconds_at_concurrency_32_give_no_errors(registry, tmp_path, air_history):
    with serve(registry, tmp_path / "serve.log") as server:
        answered, problems = asyncio.run(
            hammer(server.base, forecast_body(air_history[-24:], n=2), concurrency=32, seconds=3.0)
        )
        assert server.process.poll() is None
    assert problems == []
    assert answered > 100  # it really was under load


def test_metrics_add_up_across_two_workers_and_sigterm_exits_0(registry, tmp_path, air_history):
    body = json.dumps(forecast_body(air_history[-24:], n=3)).encode()
    with serve(registry, tmp_path / "serve.log", workers=2) as server:
        process, base, out = server.process, server.base, server.log
        sent, pids = 0, set()
        deadline = time.monotonic() + 60
        # A fresh connection per request lets the kernel hand them to either worker; go on until both served.
        while (len(pids) < 2 or sent < 40) and time.monotonic() < deadline:
            request = urllib.request.Request(
                base + "/v1/forecast", data=body, headers={"Content-Type": "application/json", "Connection": "close"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
            sent += 1
            # Without settling: a line written late only means a few more requests before both pids show.
            pids = {line["pid"] for line in access_lines(out) if line["path"] == "/v1/forecast"}
        assert len(pids) == 2, "both workers should have answered"
        key = ("paxcast_http_requests_total", (("method", "POST"), ("route", "/v1/forecast"), ("status", "200")))
        for _ in range(4):  # whichever worker answers the scrape reports the sum of both
            samples = scrape(base)
            assert samples[key] == sent
            assert samples[("paxcast_forecast_series_total", (("model", "air_passengers"),))] == 3 * sent
        # A request still in flight at SIGTERM is answered during the drain; its worker dies right after, by
        # the re-raised signal. Its log line must be written at the app's shutdown, not lost with the buffer.
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(
                b"POST /v1/forecast HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Request-ID: last-one\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body[: len(body) // 2]
            )
            client_port = sock.getsockname()[1]
            wait_until(lambda: read_everything_sent(server.port, client_port), 10, "the first half read")
            process.send_signal(signal.SIGTERM)
            # With two workers the parent keeps the listening socket until they exit, so new connections
            # cannot tell; the worker holding this request says (uvicorn's log) that it drains it.
            wait_until(
                lambda: "Waiting for connections to close." in server.output(),
                10,
                "a worker shutting down and waiting for this request",
                alive=process,
            )
            sock.sendall(body[len(body) // 2 :])
            assert sock.recv(1 << 16).startswith(b"HTTP/1.1 200")
        assert process.wait(timeout=30) == 0
    # Read after the server stopped: its workers wrote every gathered line at their shutdown.
    assert [line["status"] for line in access_lines(out) if line["request_id"] == "last-one"] == [200]


def test_sigterm_stops_accepting_and_finishes_the_request_in_flight(registry, tmp_path, air_history):
    body = json.dumps(forecast_body(air_history[-24:], n=500)).encode()
    with serve(registry, tmp_path / "serve.log") as server:
        process, port = server.process, server.port
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            head = (
                "POST /v1/forecast HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            sock.sendall(head + body[: len(body) // 2])  # the request is in flight: half its body has arrived
            client_port = sock.getsockname()[1]
            wait_until(
                lambda: read_everything_sent(port, client_port), 10, "the server read the first half of the request"
            )
            process.send_signal(signal.SIGTERM)
            # new connections are refused while the old one is still open
            wait_until(lambda: refuses_connections(port), 10, "refusing new connections after SIGTERM")
            assert process.poll() is None, "exited before finishing the request in flight"
            sock.sendall(body[len(body) // 2 :])
            raw = b""
            while chunk := sock.recv(1 << 16):
                raw += chunk
        head, _, payload = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert len(json.loads(payload)["forecasts"]) == 500
        assert process.wait(timeout=30) == 0


def test_a_port_in_use_is_one_line_naming_paxcast_port_before_any_worker(monkeypatch, capsys):
    from paxcast.service.api import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("PAXCAST_HOST", "127.0.0.1")
        monkeypatch.setenv("PAXCAST_PORT", str(port))
        monkeypatch.setattr(main.ServedModels, "load_all", lambda self: pytest.fail("loaded models first"))
        with pytest.raises(SystemExit) as exit_:
            main.run()
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"PAXCAST_PORT={port}" in err[0] and "127.0.0.1" in err[0]


@pytest.mark.e2e
def test_workers_die_with_a_sigkilled_supervisor(registry, tmp_path):
    def refused() -> bool:
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
        except OSError:
            return True
        return False

    def metrics_dirs() -> set[str]:
        return {p.name for p in Path(tempfile.gettempdir()).glob(f"paxcast-metrics-{server.process.pid}-*")}

    with serve(registry, tmp_path / "serve.log", workers=2) as server:
        assert metrics_dirs(), "the supervisor made its workers' metrics directory"
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
        wait_until(refused, 20, "the orphaned workers to stop serving", interval=0.1)
        # the last worker out removes the dead supervisor's directory (it used to wait for the next start)
        wait_until(lambda: not metrics_dirs(), 20, "the dead supervisor's metrics directory removed", interval=0.1)
