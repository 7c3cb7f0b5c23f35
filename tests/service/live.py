"""What the end-to-end tests read from a real `paxcast serve`; starting it is tests.serving's one job."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.serving import serve, wait_until


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


def access_lines(out: Path, until: Callable[[list[dict]], object] | None = None, timeout: float = 10) -> list[dict]:
    """The JSON request lines among the server's output; with `until`, once `until(lines)` holds (within `timeout` s).

    The access log writes the lines it gathered every FLUSH_SECONDS (service/api/buffered_log.py) and
    the rest when the server stops, so a request's line may appear a little after its response:
    wait for the lines a test expects rather than for a time. A line still being written is left out.
    """

    def complete_lines() -> list[dict]:
        text = out.read_text(errors="replace")
        return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines() if line.startswith("{")]

    lines = complete_lines()
    if until is not None:

        def expected() -> object:
            nonlocal lines
            lines = complete_lines()
            return until(lines)

        try:
            wait_until(expected, timeout, "the expected access log lines written")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; the last lines: {lines[-5:]}") from None
    return lines


def requests_counted(base: str, status: str, route: str = "/v1/forecast", method: str = "POST") -> float:
    """How many requests the server's `/metrics` counts for (method, route, status)."""
    key = ("paxcast_http_requests_total", (("method", method), ("route", route), ("status", status)))
    return scrape(base).get(key, 0)


def memory_back(pid: int, before_mb: float, timeout: float = 10) -> float:
    """Wait until the process's resident memory is within 10 % of `before_mb`; return it (MB)."""
    wait_until(
        lambda: rss_mb(pid) <= before_mb * 1.10, timeout, f"resident memory back within 10 % of {before_mb:.0f} MB"
    )
    return rss_mb(pid)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")
