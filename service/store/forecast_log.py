"""`ForecastLog`: served forecasts queued by the route and written to the store by one background thread.

A forecast never waits for the store and never fails because of it. `submit` only appends a reference
to a bounded queue (bounded in rows, PAXCAST_FORECAST_LOG_QUEUE_ROWS); when the queue is full, or when
a write fails (the store is down, locked past its busy timeout, out of disk), the rows are dropped and
counted (`on_drop`, the `paxcast_store_dropped_rows_total` counter) with a warning at most once per
WARN_EVERY seconds. The writer takes everything queued (up to BATCH_ROWS) into one transaction, at most
one per LINGER, so many small requests cost one commit; after a failure it simply tries the next batch, so it recovers
as soon as the store does. The same thread prunes forecasts older than the retention, one bounded
batch per turn, at most once per PRUNE_EVERY. `stop` flushes what is queued within a deadline, then
drops and counts the rest.

A thread, not an asyncio task: the drivers block, and the writer's work (building rows, binding
parameters) must not run on the event loop.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from paxcast.service.store.engine import reason
from paxcast.service.store.forecast_rows import Columns, Served
from paxcast.service.store.forecast_writes import PRUNE_BATCH, prune_forecasts, write_forecasts
from paxcast.service.store.migrations import utc_now

log = logging.getLogger("paxcast")

BATCH_ROWS = 50_000  # forecast rows per transaction (at least one request's, however large)
WARN_EVERY = 60.0  # seconds between two warnings about dropped rows
PRUNE_EVERY = 3600.0  # seconds between two retention passes
LINGER = 0.1  # seconds between two transactions at least, while fewer than BATCH_ROWS rows are queued
IDLE_WAIT = 1.0  # seconds the writer sleeps when nothing is queued (then checks retention)


class ForecastLog:
    """The queue and its writer thread; `start()` once, `submit()` per answered request, `stop()` at shutdown."""

    def __init__(
        self,
        engine: Engine,
        queue_rows: int,
        retention_days: int,
        on_drop: Callable[[int], None] = lambda rows: None,
        prune_batch: int = PRUNE_BATCH,
    ):
        self.engine = engine
        self.queue_rows = queue_rows
        self.retention = dt.timedelta(days=retention_days)
        self.on_drop = on_drop
        self.prune_batch = prune_batch
        self.queue: collections.deque[Served] = collections.deque()
        self.queued = 0  # rows in `queue`
        self.in_flight = 0  # rows the writer has taken and not yet committed
        self.written = 0  # rows committed since start (tests and the shutdown line read it)
        self.lock = threading.Condition()
        self.stopping = False
        self.closed = False  # after stop: nothing more is accepted
        self.abandoned = False  # stop's deadline passed: what the writer still holds is counted as dropped
        self.thread = threading.Thread(target=self.run, name="paxcast-forecast-log", daemon=True)
        self.last_write = 0.0  # monotonic time the last batch was taken
        self.next_prune = 0.0  # monotonic time of the next retention pass; 0: at the first idle turn
        self.pruning = False
        self.unreported: dict[str, int] = {}  # reason -> rows dropped since the last warning
        self.last_warning = -WARN_EVERY

    def start(self) -> ForecastLog:
        self.thread.start()
        return self

    def submit(self, item: Served) -> None:
        """Queue `item`'s rows, or drop and count them when the queue is full or stopped. Never blocks on the store."""
        if item.rows == 0:
            return
        with self.lock:
            if self.closed:
                accepted, why = False, "the service is stopping"
            elif self.queued + item.rows > self.queue_rows:
                accepted, why = False, f"the queue is full (PAXCAST_FORECAST_LOG_QUEUE_ROWS={self.queue_rows})"
            else:
                accepted, why = True, ""
                self.queue.append(item)
                self.queued += item.rows
                if len(self.queue) == 1 or self.queued >= BATCH_ROWS:  # else the writer is lingering anyway
                    self.lock.notify()
        if not accepted:
            self.drop(item.rows, why)

    def drop(self, rows: int, why: str) -> None:
        """Count `rows` as dropped; warn (with every reason since the last warning) at most once per WARN_EVERY."""
        self.on_drop(rows)
        with self.lock:
            self.unreported[why] = self.unreported.get(why, 0) + rows
            now = time.monotonic()
            if now - self.last_warning < WARN_EVERY:
                return
            self.last_warning, reasons, self.unreported = now, self.unreported, {}
        causes = "; ".join(f"{n} rows: {cause}" for cause, n in reasons.items())
        log.warning("forecast log: dropped served forecasts (%s); paxcast_store_dropped_rows_total counts them", causes)

    def take(self) -> list[Served]:
        """Wait for queued items (or a timeout, or stop); take up to BATCH_ROWS rows of them."""
        with self.lock:
            if not self.queue and not self.stopping:
                self.lock.wait(IDLE_WAIT)
            # at most one transaction per LINGER: a thousand small requests become one commit, and the
            # writer takes the GIL from the event loop a few times a second, not once per request
            deadline = self.last_write + LINGER
            while self.queue and not self.stopping and self.queued < BATCH_ROWS:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.lock.wait(left)
            self.last_write = time.monotonic()
            taken, rows = [], 0
            while self.queue and (not taken or rows + self.queue[0].rows <= BATCH_ROWS):
                item = self.queue.popleft()
                taken.append(item)
                rows += item.rows
            self.queued -= rows
            self.in_flight = rows
            return taken

    def run(self) -> None:
        while True:
            taken = self.take()
            if taken:
                self.write(taken)
            elif self.stopping:
                return
            self.prune_if_due()

    def write(self, taken: list[Served]) -> None:
        rows = sum(item.rows for item in taken)
        failure = None
        try:
            write_forecasts(self.engine, Columns.of(taken))
        except SQLAlchemyError as exc:
            failure = f"the store cannot be written ({reason(exc)})"
        except Exception as exc:  # a bug here must cost rows, never the writer thread
            log.exception("forecast log: writing %d rows failed", rows)
            failure = f"writing failed ({type(exc).__name__})"
        with self.lock:
            self.in_flight = 0
            counted = self.abandoned  # stop() has counted these rows as dropped already
            if failure is None:
                self.written += rows
        if failure is not None and not counted:
            self.drop(rows, failure)

    def prune_if_due(self) -> None:
        """One bounded retention batch per turn while old forecasts remain, then nothing for PRUNE_EVERY."""
        if not self.pruning and time.monotonic() < self.next_prune:
            return
        try:
            removed = prune_forecasts(self.engine, utc_now() - self.retention, self.prune_batch)
        except SQLAlchemyError as exc:
            log.warning("forecast log: retention failed (%s); retrying in %.0f s", reason(exc), PRUNE_EVERY)
            removed = 0
        self.pruning = removed >= self.prune_batch
        if not self.pruning:
            self.next_prune = time.monotonic() + PRUNE_EVERY

    def stop(self, timeout: float) -> None:
        """Write what is queued within `timeout` seconds; drop and count what is left (queued or being written)."""
        with self.lock:
            self.stopping = self.closed = True
            self.lock.notify()
        self.thread.join(timeout)
        if self.thread.is_alive():
            with self.lock:
                left = self.queued + self.in_flight
                self.abandoned = True
                self.queue.clear()
                self.queued = 0
            if left:
                self.last_warning = -WARN_EVERY  # the last chance to say so
                self.drop(left, f"not written within {timeout:g} s of shutdown")
