"""Writing served forecasts and pruning old ones, on SQLite and PostgreSQL: ids pair every bound with its forecast
(also with several writers at once), timestamps compare equal to SQLAlchemy's own, retention removes only old
forecasts and their bounds, never actuals."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import numpy as np
import pytest
from sqlalchemy import event, func, select, text

from paxcast.service.store.actuals import write_actuals
from paxcast.service.store.engine import open_store
from paxcast.service.store.forecast_log import ForecastLog
from paxcast.service.store.forecast_rows import Columns, Served
from paxcast.service.store.forecast_writes import prune_forecasts, write_forecasts
from paxcast.service.store.migrations import utc_now
from paxcast.service.store.rows import Actual
from paxcast.service.store.schema import actuals, forecast_intervals, forecasts
from tests.serving import wait_until


@pytest.fixture
def store(store_url):
    engine = open_store(store_url)
    yield engine
    engine.dispose()


def served(ids=("A", "B"), horizon=3, created_at=None, request_id="r1", start=dt.datetime(2020, 9, 1)) -> Served:
    """`len(ids)` daily series whose forecasts start the day after `start`, means 1.1, 2.2, ... (float32)."""
    n = len(ids)
    mean = (np.arange(1, n * horizon + 1, dtype=np.float32) * np.float32(1.1)).reshape(n, horizon)
    stamps = [(start + dt.timedelta(days=k)).date().isoformat() for k in range(1, horizon + 1)]
    return Served(
        model="m",
        version="v1",
        freq="D",
        ids=list(ids),
        mean=mean,
        intervals={"80": (mean - 1, mean + 1), "50.5": (mean, mean)},  # 50.5: not an integer level, not logged
        timestamps=[stamps] * n,
        request_id=request_id,
        created_at=created_at or utc_now(),
        rows=n * horizon,
    )


def columns_of(*items: Served) -> Columns:
    return Columns.of(list(items))


def counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (forecasts, forecast_intervals, actuals)
        )


def test_each_step_is_a_row_with_its_bounds_and_the_float32_values_as_rendered(store):
    assert write_forecasts(store, columns_of(served())) == 6
    with store.connect() as conn:
        rows = conn.execute(select(forecasts).order_by(forecasts.c.unique_id, forecasts.c.step)).all()
        bounds = {(r.forecast_id, r.level): (r.lower, r.upper) for r in conn.execute(select(forecast_intervals)).all()}
    assert [(r.unique_id, r.step, r.ds, r.origin) for r in rows[:3]] == [
        ("A", k, dt.datetime(2020, 9, 1 + k), dt.datetime(2020, 9, 1)) for k in (1, 2, 3)
    ]
    # 1.1 as float32 is 1.100000023841858; the response renders it "1.1", and the store keeps what it shows
    assert [r.mean for r in rows] == [1.1, 2.2, 3.3000002, 4.4, 5.5, 6.6000004]
    assert bounds == {
        (r.id, 80): (float(str(np.float32(r.mean) - 1)), float(str(np.float32(r.mean) + 1))) for r in rows
    }


def test_logged_ds_joins_the_actuals_sqlalchemy_wrote(store):
    write_actuals(store, [Actual("A", dt.datetime(2020, 9, 2), 10.0), Actual("B", dt.datetime(2020, 9, 4), 20.0)])
    write_forecasts(store, columns_of(served()))
    joined = select(forecasts.c.unique_id, forecasts.c.step, actuals.c.y).join(
        actuals, (actuals.c.unique_id == forecasts.c.unique_id) & (actuals.c.ds == forecasts.c.ds)
    )
    with store.connect() as conn:
        assert sorted(conn.execute(joined).all()) == [("A", 1, 10.0), ("B", 3, 20.0)]


def test_concurrent_writers_never_share_an_id(store_url):
    """Four engines (as four workers would have) writing at once: every bound pairs with its own forecast."""
    engines = [open_store(store_url) for _ in range(4)]
    errors = []

    def write(engine, k: int) -> None:
        try:
            for batch in range(10):
                item = served(ids=[f"w{k}-b{batch}-s{s}" for s in range(20)], horizon=5)
                marks = np.full_like(item.mean, k), np.full_like(item.mean, batch)  # who wrote the bound
                write_forecasts(engine, columns_of(dataclasses.replace(item, intervals={"80": marks})))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(engine, k)) for k, engine in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert counts(engines[0])[:2] == (4 * 10 * 20 * 5, 4 * 10 * 20 * 5)
    pairs = select(forecasts.c.unique_id, forecast_intervals.c.lower, forecast_intervals.c.upper).join(
        forecasts, forecasts.c.id == forecast_intervals.c.forecast_id
    )
    with engines[0].connect() as conn:
        wrong = [r for r in conn.execute(pairs) if not r.unique_id.startswith(f"w{r.lower:.0f}-b{r.upper:.0f}-")]
    assert wrong == []
    for engine in engines:
        engine.dispose()


def test_retention_removes_old_forecasts_and_their_bounds_only(store):
    old = utc_now() - dt.timedelta(days=401)
    write_actuals(store, [Actual("A", dt.datetime(2019, 1, 1), 1.0)])
    write_forecasts(store, columns_of(served(ids=[f"old{k}" for k in range(7)], created_at=old)))
    write_forecasts(store, columns_of(served(ids=["new"])))
    cutoff = utc_now() - dt.timedelta(days=400)
    assert prune_forecasts(store, cutoff, batch=10) == 10  # bounded: 10 of the 21 old rows
    assert prune_forecasts(store, cutoff, batch=10) == 10
    assert prune_forecasts(store, cutoff, batch=10) == 1
    assert prune_forecasts(store, cutoff, batch=10) == 0
    assert counts(store) == (3, 3, 1)
    with store.connect() as conn:
        assert set(conn.execute(select(forecasts.c.unique_id)).scalars()) == {"new"}
        orphans = conn.execute(
            text("SELECT count(*) FROM forecast_intervals WHERE forecast_id NOT IN (SELECT id FROM forecasts)")
        ).scalar_one()
    assert orphans == 0


def test_the_writer_prunes_in_the_background(store):
    write_forecasts(store, columns_of(served(ids=["old"], created_at=utc_now() - dt.timedelta(days=3))))
    write_forecasts(store, columns_of(served(ids=["new"], created_at=utc_now() - dt.timedelta(hours=1))))
    forecast_log = ForecastLog(store, queue_rows=100, retention_days=2, prune_batch=2).start()
    try:
        wait_until(lambda: counts(store)[0] == 3, 10, "the old forecast is pruned")
    finally:
        forecast_log.stop(5)
    assert counts(store)[:2] == (3, 3)


def test_a_full_queue_drops_and_counts_while_the_rest_is_written(store):
    dropped = []
    forecast_log = ForecastLog(store, queue_rows=10, retention_days=400, on_drop=dropped.append)
    forecast_log.submit(served())  # 6 rows, queued before the writer starts
    forecast_log.submit(served(ids=["C", "D"]))  # 6 more do not fit
    forecast_log.start().stop(5)
    assert dropped == [6]
    assert forecast_log.written == 6
    assert counts(store)[0] == 6


def test_rows_not_written_within_the_shutdown_deadline_are_dropped_and_counted_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    engine, holder = open_store(url), open_store(url)
    engine.dispose()  # its new connections wait 0.5 s for a lock, not engine.BUSY_TIMEOUT_MS
    event.listen(engine, "connect", lambda dbapi_connection, _: dbapi_connection.execute("PRAGMA busy_timeout = 500"))
    dropped = []
    forecast_log = ForecastLog(engine, queue_rows=100, retention_days=400, on_drop=dropped.append)
    with holder.connect() as conn:
        conn.exec_driver_sql("SELECT 1")  # its transaction's BEGIN IMMEDIATE: the writer now waits for the lock
        forecast_log.submit(served())
        forecast_log.start()
        wait_until(lambda: forecast_log.in_flight == 6, 5, "the writer has taken the rows")
        forecast_log.submit(served(ids=["C"]))  # queued behind them
        forecast_log.stop(0.2)
        assert dropped == [9]
        forecast_log.thread.join(5)  # the abandoned write fails on the lock: its rows are counted already
        conn.rollback()
    assert dropped == [9]
    holder.dispose()
    engine.dispose()
