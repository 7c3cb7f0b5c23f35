"""Opening the store: the schema is created once and versioned, SQLite runs in WAL mode, and a store that
cannot be opened is one line naming the setting."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from paxcast.service.core.exceptions import StoreUnavailable
from paxcast.service.store.engine import open_store
from paxcast.service.store.migrations import LATEST, migrate, schema_version


def test_a_new_store_gets_every_table_and_the_scoring_index(store_url):
    engine = open_store(store_url)
    try:
        found = inspect(engine)
        assert {"actuals", "forecasts", "forecast_intervals", "schema_version"} <= set(found.get_table_names())
        assert found.get_pk_constraint("actuals")["constrained_columns"] == ["unique_id", "ds"]
        indexes = {i["name"]: i["column_names"] for i in found.get_indexes("forecasts")}
        assert indexes["forecasts_by_model_series_ds"] == ["model", "unique_id", "ds"]
        with engine.connect() as conn:
            assert schema_version(conn) == LATEST
    finally:
        engine.dispose()


def test_migrating_again_applies_nothing(store_url):
    engine = open_store(store_url)
    try:
        assert migrate(engine) == []
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM schema_version")).scalar_one() == LATEST
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    engine = open_store(f"sqlite:///{tmp_path / '.store' / 'store.sqlite'}")  # its own folder is created
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 10_000
    finally:
        engine.dispose()


def test_a_schema_newer_than_this_paxcast_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    open_store(url).dispose()
    engine = open_store(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO schema_version VALUES (:v, '2030-01-01 00:00:00')"), {"v": LATEST + 1})
    engine.dispose()
    with pytest.raises(StoreUnavailable) as refused:
        open_store(url)
    assert str(refused.value) == (
        f"PAXCAST_STORE={url}: cannot open the store (the store's schema is at version {LATEST + 1}; "
        f"this paxcast knows up to {LATEST})"
    )


@pytest.mark.parametrize(
    "url, message",
    [
        ("not a url", "PAXCAST_STORE='not a url': not a database URL (e.g. sqlite:///store.sqlite)"),
        (
            "mysql://u:secret@db/x",
            "PAXCAST_STORE=mysql://u:***@db/x: the store must be sqlite:///PATH or postgresql+psycopg://..., not mysql",
        ),
        (
            "sqlite:////proc/no/such/dir/store.sqlite",
            "PAXCAST_STORE=sqlite:////proc/no/such/dir/store.sqlite: cannot open the store (",
        ),
        (
            "postgresql+psycopg://u:secret@127.0.0.1:1/x",
            "PAXCAST_STORE=postgresql+psycopg://u:***@127.0.0.1:1/x: cannot open the store (connection failed: ",
        ),
    ],
    ids=["not-a-url", "other-database", "sqlite-unwritable", "postgresql-down"],
)
def test_a_store_that_cannot_be_opened_is_one_line_naming_the_setting(url, message):
    with pytest.raises(StoreUnavailable) as refused:
        open_store(url)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value) and "secret" not in str(refused.value)


def test_a_long_read_does_not_hold_the_write_lock(store_url):
    """`reading` sees one snapshot while another connection writes and commits at once (on SQLite, a
    BEGIN IMMEDIATE read would make the writer wait out the 10 s busy timeout, then fail)."""
    import datetime as dt
    import time

    from paxcast.service.store.actuals import write_actuals
    from paxcast.service.store.engine import reading
    from paxcast.service.store.rows import Actual
    from paxcast.service.store.schema import actuals

    reader, writer = open_store(store_url), open_store(store_url)
    try:
        write_actuals(writer, [Actual("A", dt.datetime(2020, 1, 1), 1.0)])
        with reading(reader) as conn:
            count = text("SELECT count(*) FROM actuals")
            assert conn.execute(count).scalar_one() == 1
            started = time.monotonic()
            write_actuals(writer, [Actual("A", dt.datetime(2020, 1, 2), 2.0)])
            assert time.monotonic() - started < 2
            assert conn.execute(count).scalar_one() == 1  # its snapshot
        with writer.connect() as conn:
            assert conn.execute(text(f"SELECT count(*) FROM {actuals.name}")).scalar_one() == 2
    finally:
        reader.dispose()
        writer.dispose()
