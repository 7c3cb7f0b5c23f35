"""End to end: a real uvicorn process keeps answering, with no failed request, while `paxcast retrain` promotes a new version."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from paxcast.service.registry import current_version

NAME = "air_passengers"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.poll() is None, server.stdout.read()
        assert time.monotonic() < deadline, "the service did not become ready"
        time.sleep(0.2)


class Traffic(threading.Thread):
    """Posts forecasts back to back until stopped; records (body version, header version) or the failure."""

    def __init__(self, base: str, history: list[float]):
        super().__init__(daemon=True)
        self.base, self.history = base, history
        self.stop = threading.Event()
        self.versions: list[tuple[str, str]] = []
        self.failures: list[str] = []

    def run(self) -> None:
        body = {"series": [{"id": "air", "history": self.history}], "horizon": 12}
        with httpx.Client(base_url=self.base, timeout=10) as client:
            while not self.stop.is_set():
                try:
                    response = client.post("/v1/forecast", json=body)
                    if response.status_code != 200:
                        self.failures.append(f"{response.status_code} {response.text}")
                    else:
                        self.versions.append((response.json()["model"]["version"], response.headers["X-Model-Version"]))
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                time.sleep(0.005)


@pytest.mark.timeout(240)
def test_retrain_promotes_a_new_version_while_the_service_answers_every_request(registry, air_csv, air_history):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAXCAST_")}
    env.update(PAXCAST_HOST="127.0.0.1", PAXCAST_PORT=str(port), PAXCAST_MODEL_DIR=str(registry), PAXCAST_RELOAD_INTERVAL="0.2", PAXCAST_LOG_LEVEL="warning")
    server = subprocess.Popen([sys.executable, "-m", "paxcast.training.cli", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    traffic = Traffic(base, air_history[-24:])
    try:
        wait_ready(base, server)
        old = current_version(registry, NAME)
        traffic.start()
        time.sleep(1.0)
        retrain = subprocess.run(
            [sys.executable, "-m", "paxcast.training.cli", "retrain", "--force", "--data", str(air_csv), "--registry", str(registry), "--name", NAME],
            capture_output=True, text=True, timeout=180,
        )
        assert retrain.returncode == 0, retrain.stderr
        new = current_version(registry, NAME)
        assert new != old and retrain.stdout.startswith(f"promoted {NAME}/{new}: forced: ")
        deadline = time.monotonic() + 15
        while not traffic.versions or traffic.versions[-1][0] != new:
            assert time.monotonic() < deadline, "the service did not switch to the promoted version"
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        traffic.stop.set()
        traffic.join(15)
        server.send_signal(signal.SIGTERM)
        server.wait(20)

    seen = [body for body, _ in traffic.versions]
    print(f"{len(seen)} answered, {len(traffic.failures)} failed; {seen.count(old)} by {old}, {seen.count(new)} by {new}")
    assert traffic.failures == []
    assert all(body == header for body, header in traffic.versions)  # the header names the version that answered
    switch = seen.index(new)
    assert switch > 0 and set(seen[:switch]) == {old} and set(seen[switch:]) == {new}  # one switch, never back
    assert len(seen) - switch >= 5
