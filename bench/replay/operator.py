"""The replay's day loop against one running `paxcast serve`, as an operator runs it.

Before the first day: the actuals of the days up to the cut that the scores read (what the operator had on
file: the seasonal-naive values of the first days and the MASE scale's span before the window need them).
Then each day D:
1. forecast: one POST of every series' window of history ending D - 1, with `start`, the model's horizon and
   levels 80 and 95 (when the model has intervals). The responses are kept: the offline scoring reads them.
2. flush: wait until the store holds every forecast row served so far. Known by polling the store itself
   (`count(*)` of `forecasts`, from this process), not a metric: the service exports the rows it dropped
   (`paxcast_store_dropped_rows_total`, checked to stay 0) but not the rows it wrote.
3. actuals: one POST of D's actuals.
A series whose window has a gap is not forecast that day (counted); a missing actual is not posted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
import urllib.request
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import create_engine, func, select

from bench.replay.series import Grid
from paxcast.service.store.schema import forecasts
from tests.serving import Server, wait_until

LEVELS = [80, 95]
FLUSH_TIMEOUT = 120.0  # seconds a day's rows may take to reach the store
DROPPED = re.compile(rb"^paxcast_store_dropped_rows_total ([0-9.e+]+)$", re.MULTILINE)


@dataclass
class Served:
    """The kept responses, one entry per forecast series, as flat arrays once `frozen()`."""

    unique_id: list[str] = field(default_factory=list)
    version: list[str] = field(default_factory=list)
    origin: list[dt.date] = field(default_factory=list)
    mean: list[list[float]] = field(default_factory=list)  # (horizon,) each
    bounds: dict[int, list[tuple[list[float], list[float]]]] = field(default_factory=dict)  # level -> (lower, upper)


@dataclass
class Day:
    date: str
    series: int  # forecast
    skipped: int  # not forecast: a gap in the window
    actuals: int  # posted
    forecast_s: float
    flush_s: float
    actuals_s: float
    load1: float


def request(url: str, body: dict | None = None, token: str | None = None) -> dict:
    """GET (no body) or POST `body` as JSON; the decoded answer. Any status but 200 stops the replay, naming it."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=600) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"{url}: HTTP {exc.code}: {exc.read()[:2000].decode(errors='replace')}") from None


def dropped_rows(base: str) -> float:
    with urllib.request.urlopen(base + "/metrics", timeout=10) as answer:
        found = DROPPED.search(answer.read())
    return float(found.group(1)) if found else 0.0


def actual_rows(grid: Grid, index: int) -> list[dict]:
    day = grid.day(index).isoformat()
    column = grid.y[:, index]
    return [{"unique_id": u, "ds": day, "y": float(y)} for u, y in zip(grid.ids, column, strict=True) if y == y]


class Operator:
    """Runs the days against `server`; `store_url` is read to know the log has flushed."""

    def __init__(self, server: Server, store_url: str, token: str, model: str, card_shape: tuple, levels: list[int]):
        self.server, self.model, self.token = server, model, token
        self.window, self.horizon = card_shape  # the model's window and horizon
        self.levels = levels
        self.engine = create_engine(store_url)
        self.rows = 0  # forecast rows served so far: what the store must hold once flushed
        self.served = Served(bounds={level: [] for level in levels})
        self.posted = 0
        self.counted, self.last_id = 0, 0  # forecast rows seen in the store, and the highest id among them

    def close(self) -> None:
        self.engine.dispose()

    def backfill(self, grid: Grid, first: int, last: int) -> float:
        """POST the actuals of grid days first..last (inclusive), one request per day; the seconds it took."""
        started = time.perf_counter()
        for index in range(first, last + 1):
            self.post_actuals(grid, index)
        return time.perf_counter() - started

    def post_actuals(self, grid: Grid, index: int) -> int:
        rows = actual_rows(grid, index)
        if rows:
            answer = request(f"{self.server.base}/v1/actuals", {"rows": rows}, self.token)
            assert answer["rows"] == len(rows), answer
        self.posted += len(rows)
        return len(rows)

    def run_day(self, grid: Grid, index: int) -> Day:
        """Day `index` of the grid: forecast from the window ending the day before, flush, post its actuals."""
        history = grid.y[:, index - self.window : index]
        complete = ~np.isnan(history).any(axis=1)
        start = grid.day(index - self.window).isoformat()
        series = [
            {"id": u, "history": h.tolist(), "start": start}
            for u, h, ok in zip(grid.ids, history, complete, strict=True)
            if ok
        ]
        body: dict = {"series": series, "horizon": self.horizon}
        if self.levels:
            body["level"] = self.levels
        started = time.perf_counter()
        answer = request(f"{self.server.base}/v1/models/{self.model}/forecast", body)
        forecast_s = time.perf_counter() - started
        self.keep(answer, grid.day(index - 1), grid.day(index))
        self.rows += len(series) * self.horizon
        started = time.perf_counter()
        self.wait_for_flush()
        flush_s = time.perf_counter() - started
        started = time.perf_counter()
        posted = self.post_actuals(grid, index)
        actuals_s = time.perf_counter() - started
        skipped = int((~complete).sum())
        return Day(grid.day(index).isoformat(), len(series), skipped, posted, forecast_s, flush_s, actuals_s, load())

    def keep(self, answer: dict, origin: dt.date, first: dt.date) -> None:
        version = answer["model"]["version"]
        for entry in answer["forecasts"]:
            if entry["timestamps"][0][:10] != first.isoformat():
                raise SystemExit(f"series {entry['id']!r}: forecast starts {entry['timestamps'][0]}, expected {first}")
            self.served.unique_id.append(entry["id"])
            self.served.version.append(version)
            self.served.origin.append(origin)
            self.served.mean.append(entry["mean"])
            for level in self.levels:
                bounds = entry["intervals"][str(level)]
                self.served.bounds[level].append((bounds["lower"], bounds["upper"]))

    def stored(self) -> int:
        """Forecast rows in the store, counting only those above the last id seen (a full count(*) every 20 ms
        would scan a million rows on PostgreSQL and slow the writer it waits for). Exact with one server process:
        its one writer thread commits one batch at a time, so ids become visible in increasing order."""
        newer = select(func.count(), func.max(forecasts.c.id)).where(forecasts.c.id > self.last_id)
        with self.engine.connect() as conn:
            count, last = conn.execute(newer).one()
        if count:
            self.counted, self.last_id = self.counted + count, last
        return self.counted

    def wait_for_flush(self) -> None:
        what = f"the store holds the {self.rows} forecast rows served"
        try:
            wait_until(lambda: self.stored() >= self.rows, FLUSH_TIMEOUT, what, interval=0.02)
        except TimeoutError as exc:
            dropped = dropped_rows(self.server.base)
            raise SystemExit(f"{exc} (paxcast_store_dropped_rows_total {dropped:g}; log: {self.server.log})") from None
        if dropped_rows(self.server.base) > 0:  # the count reached, but through rows of another day: never expected
            raise SystemExit(f"the forecast log dropped rows (paxcast_store_dropped_rows_total > 0): {self.server.log}")


def load() -> float:
    return os.getloadavg()[0]
