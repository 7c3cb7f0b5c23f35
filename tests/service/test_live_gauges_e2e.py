"""The live gauges in prometheus multiprocess mode: a real `paxcast serve` with two workers on one SQLite store (the
worker that took the POST refreshes after it, the one holding the refresh lease every interval; either may write
a gauge) reports each (model, version) once, with the value one worker computed (not the sum of both), and the
scored-points counter counts each posted actual's forecasts once."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request

import pytest

from paxcast.service.core.calendar import add_months
from paxcast.service.store.engine import open_store
from tests.service.live import scrape, serving
from tests.serving import wait_until
from tests.store.logged import log_forecast

pytestmark = pytest.mark.e2e  # a real `paxcast serve` with two workers

MODEL = "air_passengers"
TOKEN = "s3cret-ingest-token"


def month(t: int) -> dt.datetime:
    return add_months(dt.datetime(2019, 1, 1), t)


def live(base: str) -> dict:
    """The live samples of MODEL as {(name, version): [values]} (a list: a duplicate would show)."""
    found: dict = {}
    for (name, labels), value in scrape(base).items():
        labels = dict(labels)
        if name.startswith("paxcast_live_") and labels.get("model") == MODEL and "level" not in labels:
            found.setdefault((name, labels["version"], labels.get("pid")), []).append(value)
    return found


def test_two_workers_report_each_gauge_once_with_the_computed_value(registry, tmp_path):
    store = f"sqlite:///{tmp_path / 'store.sqlite'}"
    engine = open_store(store)
    log_forecast(engine, MODEL, "v1", "S", month(27), month(29), 2, 120.0)
    log_forecast(engine, MODEL, "v1", "S", month(28), month(29), 1, 131.0)
    engine.dispose()
    rows = [{"unique_id": "S", "ds": month(t).date().isoformat(), "y": 100.0 + t} for t in range(30)]
    settings = dict(store=store, ingest_token=TOKEN, live_days=31, live_refresh=0.2, workers=2)
    with serving(registry, tmp_path, **settings) as (_, base, _log):
        request = urllib.request.Request(
            base + "/v1/actuals",
            data=json.dumps({"rows": rows}).encode(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        wait_until(lambda: ("paxcast_live_wape", "v1", None) in live(base), 10, "the gauge is set")
        wait_until(lambda: live(base).get(("paxcast_live_scored_points_total", "v1", None)) == [2.0], 10, "counted")
        # the lease holder refreshes every 0.2 s: over a second of scrapes, never a sum, never a line per pid
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            found = live(base)
            assert found[("paxcast_live_wape", "v1", None)] == [pytest.approx(11 / 258)]
            assert found[("paxcast_live_naive_wape", "v1", None)] == [pytest.approx(24 / 258)]
            assert found[("paxcast_live_scored_points_total", "v1", None)] == [2.0]
