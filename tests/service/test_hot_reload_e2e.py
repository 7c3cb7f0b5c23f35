"""End to end: a real `paxcast serve` keeps answering, with no failed request, while `paxcast retrain` promotes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import httpx
import pytest

from paxcast.service.core.registry import current_version
from tests.serving import serve, wait_until

NAME = "air_passengers"


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
                time.sleep(0.005)  # pacing, not a wait: the server and the retrain share the 2 cores with us


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_retrain_promotes_a_new_version_while_the_service_answers_every_request(
    registry, air_csv, air_history, tmp_path
):
    with serve(registry, tmp_path / "serve.log", reload_interval=0.2, log_level="warning") as server:
        old = current_version(registry, NAME)
        traffic = Traffic(server.base, air_history[-24:])
        traffic.start()
        try:
            wait_until(lambda: len(traffic.versions) >= 20 or traffic.failures, 30, "20 forecasts answered")
            retrain = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "paxcast.service.cli.main",
                    "retrain",
                    "--force",
                    "--data",
                    str(air_csv),
                    "--registry",
                    str(registry),
                    "--name",
                    NAME,
                ],
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert retrain.returncode == 0, retrain.stderr
            new = current_version(registry, NAME)
            assert new != old and retrain.stdout.startswith(f"promoted {NAME}/{new}: forced: ")
            wait_until(
                lambda: traffic.versions[-1][0] == new or traffic.failures,
                15,
                "the service switched to the promoted version",
            )
            switched = len(traffic.versions)
            wait_until(
                lambda: len(traffic.versions) >= switched + 20 or traffic.failures, 30, "20 more forecasts answered"
            )
        finally:
            traffic.stop.set()
            traffic.join(15)

    seen = [body for body, _ in traffic.versions]
    print(
        f"{len(seen)} answered, {len(traffic.failures)} failed; {seen.count(old)} by {old}, {seen.count(new)} by {new}"
    )
    assert traffic.failures == []
    assert all(body == header for body, header in traffic.versions)  # the header names the version that answered
    switch = seen.index(new)
    assert switch > 0 and set(seen[:switch]) == {old} and set(seen[switch:]) == {new}  # one switch, never back
    assert len(seen) - switch >= 20
