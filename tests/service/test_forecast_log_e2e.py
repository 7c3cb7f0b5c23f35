"""A real `paxcast serve` SIGKILLed while its forecast log still holds queued rows: the SQLite store stays readable
and consistent (integrity check ok, no bound without its forecast, whole requests only)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.serving import serve, wait_until

pytestmark = pytest.mark.e2e  # a real `paxcast serve` process

SERIES, HORIZON, REQUESTS = 2000, 12, 10
ROWS = SERIES * HORIZON  # forecast rows one request logs


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
        return response.status


def written(path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT count(*) FROM forecasts").fetchone()[0]


def test_sigkill_with_queued_rows_leaves_the_sqlite_store_consistent(registry, tmp_path, air_history):
    path = tmp_path / "store.sqlite"
    series = [{"id": f"s{k}", "history": air_history[:48], "start": "1949-01-01"} for k in range(SERIES)]
    body = json.dumps({"series": series, "horizon": HORIZON, "level": [80]}).encode()
    with serve(registry, tmp_path / "server.log", store=f"sqlite:///{path}", forecast_log_queue_rows=10**6) as server:
        url = f"{server.base}/v1/forecast"
        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(lambda _: post(url, body), range(REQUESTS))) == [200] * REQUESTS
        wait_until(lambda: written(path) > 0, 30, "the writer has written a batch")
        os.killpg(server.process.pid, signal.SIGKILL)  # with more batches queued (asserted below)
        server.process.wait(timeout=10)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        (forecasts,) = conn.execute("SELECT count(*) FROM forecasts").fetchone()
        (orphans,) = conn.execute(
            "SELECT count(*) FROM forecast_intervals WHERE forecast_id NOT IN (SELECT id FROM forecasts)"
        ).fetchone()
        (unbounded,) = conn.execute(
            "SELECT count(*) FROM forecasts WHERE id NOT IN (SELECT forecast_id FROM forecast_intervals)"
        ).fetchone()
    assert 0 < forecasts < REQUESTS * ROWS, "the kill came after every row was written: the test proved nothing"
    assert forecasts % ROWS == 0  # a batch is one transaction: whole requests or nothing
    assert (orphans, unbounded) == (0, 0)
