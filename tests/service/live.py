"""One helper that starts the real service (`paxcast serve`) on a free loopback port, plus what tests read from it."""

from __future__ import annotations

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


def scrape(base: str) -> dict[tuple[str, tuple], float]:
    """`/metrics` as {(sample name, sorted labels): value}."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text) for s in f.samples}


def access_lines(out: Path) -> list[dict]:
    """The JSON request lines among the server's output."""
    return [json.loads(line) for line in out.read_text().splitlines() if line.startswith("{")]


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")
