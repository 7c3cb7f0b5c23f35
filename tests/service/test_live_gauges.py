"""The `paxcast_live_*` gauges through the real app: they appear once actuals are posted (with the numbers worked
out in test_accuracy_route.py's store), a scrape reads cached values and never scores, and the periodic refresh
picks up rows other workers wrote and drops a version that left the window."""

from __future__ import annotations

import datetime as dt

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete

from paxcast.service.core.calendar import add_months
from paxcast.service.store.engine import open_store
from paxcast.service.store.schema import forecasts
from tests.serving import wait_until
from tests.store.logged import log_forecast

MODEL = "air_passengers"
TOKEN = "s3cret-ingest-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def month(t: int) -> dt.datetime:
    return add_months(dt.datetime(2019, 1, 1), t)


ACTUALS = [
    {"unique_id": s, "ds": month(t).date().isoformat(), "y": (1 if s == "S" else 10) * (100.0 + t)}
    for s in "ST"
    for t in range(30)
]


def scrape(client) -> dict:
    """The live metrics of MODEL as {(name, version[, level]): value}."""
    found = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name.startswith("paxcast_live_") and sample.labels.get("model") == MODEL:
                key = (
                    sample.name,
                    sample.labels["version"],
                    *([sample.labels["level"]] if "level" in sample.labels else []),
                )
                found[key] = sample.value
    return found


def log_three(store_url) -> None:
    engine = open_store(store_url)
    log_forecast(engine, MODEL, "v1", "S", month(27), month(29), 2, 120.0, {90: (110.0, 125.0)})
    log_forecast(engine, MODEL, "v1", "S", month(28), month(29), 1, 131.0, {90: (125.0, 135.0)})
    log_forecast(engine, MODEL, "v2", "T", month(28), month(29), 1, 1390.0)
    engine.dispose()


def gauges(found: dict) -> dict:
    return {k: v for k, v in found.items() if not k[0].startswith("paxcast_live_scored_points")}


def scored_points(found: dict, version: str) -> float:
    """The counter's value (it outlives an app: this process's earlier tests may have counted too)."""
    return found.get(("paxcast_live_scored_points_total", version), 0.0)


def test_gauges_appear_once_actuals_are_posted(make_client, store_url):
    log_three(store_url)
    client = make_client(store=store_url, ingest_token=TOKEN, live_days=31, live_refresh=0)
    before = scrape(client)
    assert gauges(before) == {}  # the start-up pass found no actuals
    assert client.post("/v1/actuals", json={"rows": ACTUALS}, headers=AUTH).status_code == 200
    wait_until(lambda: ("paxcast_live_wape", "v2") in scrape(client), 5, "the gauges are set")
    found = scrape(client)
    assert gauges(found) == {
        ("paxcast_live_wape", "v1"): pytest.approx(11 / 258),
        ("paxcast_live_mase", "v1"): pytest.approx(11 / 24),
        ("paxcast_live_naive_wape", "v1"): pytest.approx(24 / 258),
        ("paxcast_live_coverage", "v1", "90"): 0.5,
        ("paxcast_live_wape", "v2"): pytest.approx(100 / 1290),
        ("paxcast_live_mase", "v2"): pytest.approx(100 / 120),
        ("paxcast_live_naive_wape", "v2"): pytest.approx(120 / 1290),
    }
    assert scored_points(found, "v1") - scored_points(before, "v1") == 2
    assert scored_points(found, "v2") - scored_points(before, "v2") == 1


def test_a_scrape_reads_the_cache_and_never_scores(make_client, store_url):
    log_three(store_url)
    client = make_client(store=store_url, ingest_token=TOKEN, live_days=31, live_refresh=0)
    client.post("/v1/actuals", json={"rows": ACTUALS}, headers=AUTH)
    wait_until(lambda: ("paxcast_live_wape", "v2") in scrape(client), 5, "the gauges are set")
    engine = open_store(store_url)
    log_forecast(engine, MODEL, "v3", "S", month(28), month(29), 1, 129.0)  # as another worker's writer would
    engine.dispose()
    for _ in range(3):
        assert ("paxcast_live_wape", "v3") not in scrape(client)


def test_the_periodic_refresh_picks_up_other_writers_and_drops_a_version_that_left(make_client, store_url):
    log_three(store_url)
    client = make_client(store=store_url, ingest_token=TOKEN, live_days=31, live_refresh=0.1)
    client.post("/v1/actuals", json={"rows": ACTUALS}, headers=AUTH)
    wait_until(lambda: ("paxcast_live_wape", "v2") in scrape(client), 5, "the gauges are set")
    engine = open_store(store_url)
    log_forecast(engine, MODEL, "v3", "S", month(28), month(29), 1, 129.0)
    with engine.begin() as conn:
        conn.execute(delete(forecasts).where(forecasts.c.version == "v2"))
    engine.dispose()
    wait_until(lambda: ("paxcast_live_wape", "v3") in scrape(client), 5, "the refresh found v3")
    wait_until(lambda: ("paxcast_live_wape", "v2") not in scrape(client), 5, "the refresh dropped v2")
    assert scrape(client)[("paxcast_live_wape", "v3")] == 0.0
