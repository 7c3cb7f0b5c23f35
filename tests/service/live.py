"""What the end-to-end tests read from a real `paxcast serve`; starting it is tests.serving's one job."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from paxcast.service.api.buffered_log import FLUSH_SECONDS
from tests.serving import serve


@contextlib.contextmanager
def serving(registry: Path, tmp_path: Path, **settings):
    """`paxcast serve` on a free loopback port (tests.serving starts it); yields (process, base url, log file)."""
    log = tmp_path / f"serve-{len(list(tmp_path.glob('serve-*.log')))}.log"
    with serve(registry, log, **settings) as server:
        yield server.process, server.base, server.log


def scrape(base: str) -> dict[tuple[str, tuple], float]:
    """`/metrics` as {(sample name, sorted labels): value}."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


def access_lines(out: Path, settle: bool = True) -> list[dict]:
    """The JSON request lines among the server's output; `settle` first waits out the access log's periodic flush."""
    if settle:
        time.sleep(2 * FLUSH_SECONDS)
    return [json.loads(line) for line in out.read_text().splitlines() if line.startswith("{")]


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")
