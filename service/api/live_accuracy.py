"""The live accuracy gauges (`paxcast_live_*`, api/metrics.py): recomputed in the background, read from cache.

A scrape never touches the store: it reads the values the last refresh set. A model is refreshed (scored
over the last PAXCAST_LIVE_DAYS days, by version, service/store/scoring.py) when:
- a POST /v1/actuals commit gave actuals to one of its series (`actuals_written`); refreshes are coalesced:
  however many posts arrive while one refresh runs, the next covers every model they touched, once;
- every PAXCAST_LIVE_REFRESH seconds, for every served model: picks up forecasts logged and actuals posted
  through other workers or replicas;
- once at start-up.
The last two run in ONE worker of a `paxcast serve` (`RefreshLease`), not in each: the store scores every model
once per interval per server, whatever PAXCAST_WORKERS is. One per server, not one across replicas: the gauges
live in each server's processes and Prometheus scrapes each replica on its own, so every replica must compute
its own; within one server the workers share the multiprocess directory, whose `livemostrecent` gauges show the
newest value any live worker wrote. Refreshes after a POST still run in the worker that took it.
Only versions with points in the window have gauges: a version that leaves it loses its label sets (in
multiprocess mode prometheus-client cannot remove them, so they are set to NaN). A refresh that fails (the
store is down) logs a warning and keeps the previous values.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import math
import os
from pathlib import Path
from typing import IO

from paxcast.service.api import metrics
from paxcast.service.core.settings import Settings
from paxcast.service.inference.holder import ServedModels
from paxcast.service.inference.metrics import MULTIPROC_ENV
from paxcast.service.store.matching import match_actuals
from paxcast.service.store.rows import Actual
from paxcast.service.store.scoring import Accuracy, score

log = logging.getLogger("paxcast")
# (model, version) -> the interval levels it has coverage gauges for; per process, as the gauges are.
published: dict[tuple[str, str], set[int]] = {}


def gauge_value(value: float | None) -> float:
    return math.nan if value is None else value


def publish(accuracy: Accuracy) -> None:
    """Set the gauges of every version with points in the window; drop those of versions that left it."""
    model = accuracy.model
    current = {version: s for version, s in accuracy.groups.items() if s.points > 0}
    for version, scores in current.items():
        metrics.LIVE_WAPE.labels(model, version).set(gauge_value(scores.wape))
        metrics.LIVE_MASE.labels(model, version).set(gauge_value(scores.mase))
        metrics.LIVE_NAIVE_WAPE.labels(model, version).set(gauge_value(scores.naive_wape))
        levels = published.setdefault((model, version), set())
        for level in levels - set(scores.coverage):
            drop_coverage(model, version, level)
        for level, share in scores.coverage.items():
            metrics.LIVE_COVERAGE.labels(model, version, str(level)).set(share)
        levels.clear()
        levels.update(scores.coverage)
    for gone in [key for key in published if key[0] == model and key[1] not in current]:
        unpublish(*gone)


def drop_coverage(model: str, version: str, level: int) -> None:
    if os.environ.get(MULTIPROC_ENV):
        metrics.LIVE_COVERAGE.labels(model, version, str(level)).set(math.nan)
    else:
        metrics.LIVE_COVERAGE.remove(model, version, str(level))


def unpublish(model: str, version: str) -> None:
    """Drop one version's gauges (NaN in multiprocess mode, where a label set cannot be removed)."""
    for level in published.pop((model, version), set()):
        drop_coverage(model, version, level)
    for gauge in (metrics.LIVE_WAPE, metrics.LIVE_MASE, metrics.LIVE_NAIVE_WAPE):
        if os.environ.get(MULTIPROC_ENV):
            gauge.labels(model, version).set(math.nan)
        else:
            gauge.remove(model, version)


class RefreshLease:
    """Whether this worker runs the periodic refresh: it holds an exclusive flock on LEASE_FILE in the prometheus
    multiprocess directory, which every worker of one server shares.

    A lock rather than a row in the store: it needs no schema, works alike on SQLite and PostgreSQL, and the
    kernel releases it when its holder exits or is killed, so another worker takes over at its next interval
    (its gauges come back then: the dead worker's files are dropped, api/metrics.py). One process (no
    multiprocess directory) always holds it. A directory that cannot be opened refreshes anyway: gauges that
    are computed twice are better than gauges that never are.
    """

    def __init__(self) -> None:
        self.handle: IO | None = None

    def held(self) -> bool:
        """True if this worker holds the lease, taking it when it is free."""
        directory = os.environ.get(MULTIPROC_ENV)
        if not directory or self.handle is not None:
            return True
        try:
            handle = open(Path(directory) / LEASE_FILE, "a")  # noqa: SIM115 - held open for the worker's life
        except OSError as exc:
            log.warning("live accuracy: no refresh lease in %s (%s); this worker refreshes too", directory, exc)
            return True
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another worker holds it
            handle.close()
            return False
        self.handle = handle
        return True

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()  # closing the last descriptor releases the flock
            self.handle = None


LEASE_FILE = "live-refresh.lock"


class LiveScores:
    """The background refresher of one worker: `start()` in the lifespan, `actuals_written()` after a commit."""

    def __init__(self, store, models: ServedModels, settings: Settings):
        self.store, self.models, self.settings = store, models, settings
        self.dirty: set[str] = set()
        self.lease = RefreshLease()
        self.wake = asyncio.Event()
        self.tasks: set[asyncio.Task] = set()
        self.loop_task: asyncio.Task | None = None

    def start(self) -> None:
        if self.lease.held():
            self.dirty.update(self.models.holders)  # the first pass scores every served model
        self.loop_task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        for task in [self.loop_task, *self.tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.lease.release()
        if not os.environ.get(MULTIPROC_ENV):  # one process: its gauges go with the app (tests start many)
            for key in list(published):
                if key[0] in self.models.holders:
                    unpublish(*key)

    def actuals_written(self, rows: list[Actual]) -> None:
        """Count the forecasts `rows` score and refresh the models they touch, in the background."""
        task = asyncio.create_task(self.match(rows))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def match(self, rows: list[Actual]) -> None:
        try:
            matched = await asyncio.to_thread(match_actuals, self.store, list(self.models.holders), rows)
        except Exception as exc:  # the store went away after the commit: the periodic refresh catches up
            log.warning("live accuracy: cannot match posted actuals to forecasts (%s)", exc)
            return
        for (model, version), count in matched.points.items():
            metrics.LIVE_SCORED.labels(model, version).inc(count)
        if matched.models:
            self.dirty.update(matched.models)
            self.wake.set()

    async def run(self) -> None:
        interval = self.settings.live_refresh or None
        while True:
            if not self.dirty:
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout=interval)
                except TimeoutError:
                    if self.lease.held():
                        self.dirty.update(self.models.holders)
            self.wake.clear()
            names, self.dirty = sorted(self.dirty), set()
            for name in names:
                await self.refresh(name)

    async def refresh(self, name: str) -> None:
        holder = self.models.get(name)
        predictor = holder.predictor if holder is not None else None
        if predictor is None:  # not loaded (yet): its next refresh scores it
            return
        card = predictor.card
        try:
            found = await asyncio.to_thread(
                score, self.store, name, card.season, card.freq, self.settings.live_days, "version"
            )
        except Exception as exc:
            log.warning("live accuracy of model %s not refreshed: %s", name, exc)
            return
        publish(found)
