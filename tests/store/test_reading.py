"""Read transactions (`engine.reading`): one snapshot, no write lock on SQLite, writes refused inside them, and
the pooled connection writes normally again afterwards."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from paxcast.service.store.actuals import write_actuals
from paxcast.service.store.engine import open_store, reading
from paxcast.service.store.rows import Actual
from paxcast.service.store.schema import actuals

COUNT = select(func.count()).select_from(actuals)
DAY = dt.datetime(2020, 9, 1)


def test_a_read_does_not_take_the_sqlite_write_lock_and_keeps_its_snapshot(tmp_path):
    path = tmp_path / "store.sqlite"
    engine = open_store(f"sqlite:///{path}")
    try:
        with reading(engine) as conn:
            assert conn.execute(COUNT).scalar_one() == 0
            writer = sqlite3.connect(path, timeout=0, isolation_level=None)  # no waiting: a held lock fails at once
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("INSERT INTO actuals VALUES ('A', '2020-09-01 00:00:00.000000', 1.0, '2020-09-01')")
            writer.execute("COMMIT")
            writer.close()
            assert conn.execute(COUNT).scalar_one() == 0  # the snapshot taken by the first read
        with engine.connect() as conn:
            assert conn.execute(COUNT).scalar_one() == 1
    finally:
        engine.dispose()


def test_a_write_inside_a_read_is_refused_and_the_connection_writes_again_after(store_url):
    engine = open_store(store_url)
    try:
        with pytest.raises(DBAPIError), reading(engine) as conn:
            conn.execute(actuals.insert().values(unique_id="A", ds=DAY, y=1.0, updated_at=DAY))
        assert write_actuals(engine, [Actual("A", DAY, 2.0)]).new == 1  # the same pooled connection
        with reading(engine) as conn:
            assert conn.execute(COUNT).scalar_one() == 1
    finally:
        engine.dispose()
