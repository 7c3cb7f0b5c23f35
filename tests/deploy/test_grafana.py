"""deploy/grafana/paxcast-dashboard.json: every metric a panel queries is one the service exports."""

from __future__ import annotations

import json
import re

from prometheus_client import REGISTRY

import paxcast.service.api.metrics  # noqa: F401 - registers the HTTP, store and live metrics
import paxcast.service.inference.metrics  # noqa: F401 - registers the model and batching metrics
from tests.conftest import ROOT

DASHBOARD = ROOT / "deploy" / "grafana" / "paxcast-dashboard.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",), "info": ("_info",)}


def exported() -> set[str]:
    """The sample names the service's /metrics carries, from the metric families it registers."""
    names = set()
    for family in REGISTRY.collect():
        if family.name.startswith("paxcast_"):
            names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return names


def queried(dashboard: dict) -> dict[str, set[str]]:
    """{panel title: the paxcast_* names its queries read}."""
    return {
        panel["title"]: {name for target in panel["targets"] for name in re.findall(r"paxcast_\w+", target["expr"])}
        for panel in dashboard["panels"]
    }


def test_every_queried_metric_is_exported():
    dashboard = json.loads(DASHBOARD.read_text())
    available = exported()
    missing = {title: names - available for title, names in queried(dashboard).items() if names - available}
    assert missing == {}


def test_the_dashboard_shows_what_the_issue_asks():
    every = set().union(*queried(json.loads(DASHBOARD.read_text())).values())
    asked = {
        "paxcast_http_requests_total",  # request rate
        "paxcast_http_request_duration_seconds_bucket",  # latency
        "paxcast_batch_rows_sum",  # batch sizes
        "paxcast_live_wape",
        "paxcast_live_naive_wape",
        "paxcast_live_coverage",
        "paxcast_store_dropped_rows_total",
    }
    assert asked <= every


def test_a_misspelt_metric_would_be_caught():
    assert queried({"panels": [{"title": "t", "targets": [{"expr": "rate(paxcast_live_wap[5m])"}]}]})["t"] - exported()
