"""Issue 15 item 6: a worker killed and restarted by uvicorn leaves no stale `paxcast_model_info` behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import urllib.request

import pytest
from live import access_lines, scrape, serving

from paxcast.service.core.registry import current_version

pytestmark = pytest.mark.e2e  # real `paxcast serve` processes

NAME = "air_passengers"


def worker_pids(base: str, out, want: int, exclude: set = frozenset(), timeout: float = 90) -> set:
    """Send fresh connections until `want` workers not in `exclude` have answered."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            request = urllib.request.Request(base + "/healthz", headers={"Connection": "close"})
            urllib.request.urlopen(request, timeout=5).read()
        except OSError:
            pass
        pids = {line["pid"] for line in access_lines(out) if line["path"] == "/healthz"} - set(exclude)
        if len(pids) >= want:
            return pids
        assert time.monotonic() < deadline, f"only workers {pids} answered"
        time.sleep(0.05)


def info(base: str) -> dict[str, float]:
    return {dict(labels)["version"]: v for (name, labels), v in scrape(base).items() if name == "paxcast_model_info"}


@pytest.mark.timeout(240)
def test_a_killed_worker_leaves_no_stale_model_info(registry, tmp_path):
    base_dir = registry / NAME
    old = current_version(registry, NAME)
    new = "29990101T000000Z"
    shutil.copytree(base_dir / old, base_dir / new)
    meta = json.loads((base_dir / new / "model.json").read_text())
    (base_dir / new / "model.json").write_text(json.dumps({**meta, "version": new}))

    with serving(registry, tmp_path, workers=2, reload_interval=0.3) as (process, base, out):
        first = worker_pids(base, out, 2)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        restarted = worker_pids(base, out, 1, exclude=first)  # uvicorn's supervisor started a replacement
        (base_dir / "CURRENT").write_text(new + "\n")
        deadline = time.monotonic() + 30
        while True:  # both live workers pick the new version up at their next poll
            seen = info(base)
            if seen.get(new) == 1 and seen.get(old, 0) == 0:
                break
            assert time.monotonic() < deadline, (
                f"paxcast_model_info stayed {seen} (killed {victim}, restarted {restarted})"
            )
            time.sleep(0.3)
        for _ in range(4):  # whichever worker answers the scrape
            assert info(base).get(old, 0) == 0
        assert process.poll() is None
