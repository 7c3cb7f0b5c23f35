"""`open_store(url)`: a SQLAlchemy engine on the store, its schema migrated, or one line naming the setting.

SQLite (the default, `sqlite:///path`): WAL mode, so readers never wait for the writer and several
workers can share the file; a busy timeout, so a writer waits for another's lock instead of failing
at once; and every transaction starts with `BEGIN IMMEDIATE`, so it takes the write lock up front.
A deferred transaction that reads and then writes can fail with "database is locked" even with a
busy timeout (SQLite cannot wait to upgrade a read lock another writer is waiting behind); every
transaction in the store writes, so none is deferred. Python's sqlite3 module would issue its own
BEGIN only before some statements (not before DDL); it is switched off and SQLAlchemy's begin
emits ours, so a migration's DDL is transactional too.

Reads (`reading(engine)`, the accuracy scores) are the one exception: a plain deferred `BEGIN`. A
transaction that never writes never upgrades its lock, so the failure above cannot happen to it; in
WAL mode it reads one snapshot, taken at its first SELECT, without blocking the writer or waiting for
it, and every query in it sees that snapshot. Under BEGIN IMMEDIATE a long scoring query would hold
the write lock and stall every POST /v1/actuals and forecast log write behind it. `PRAGMA query_only`
makes a write attempted in such a transaction fail instead of taking the lock.

PostgreSQL: `postgresql+psycopg://user:password@host/db` (plain `postgresql://` is read as psycopg 3;
psycopg2 is not a dependency).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from paxcast.service.core.exceptions import StoreUnavailable
from paxcast.service.store.migrations import SchemaTooNew, migrate

BUSY_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_S = 5
DRIVERS = {"sqlite": "sqlite", "sqlite+pysqlite": "sqlite", "postgresql": "postgresql+psycopg"}
DRIVERS["postgresql+psycopg"] = "postgresql+psycopg"
# The execution option that marks a connection's transactions as read-only (engine.reading).
READ_ONLY = "paxcast_read_only"


def open_store(url: str, setting: str = "PAXCAST_STORE") -> Engine:
    """The engine on `url` with its schema up to date; StoreUnavailable names `setting` and the URL (password
    hidden) when it cannot be parsed, reached or migrated."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreUnavailable(f"{setting}={url!r}: not a database URL (e.g. sqlite:///store.sqlite)") from None
    shown = shown_url(url)
    if parsed.drivername not in DRIVERS:
        raise StoreUnavailable(
            f"{setting}={shown}: the store must be sqlite:///PATH or postgresql+psycopg://..., not {parsed.drivername}"
        )
    parsed = parsed.set(drivername=DRIVERS[parsed.drivername])
    try:
        engine = sqlite_engine(parsed) if parsed.get_backend_name() == "sqlite" else postgresql_engine(parsed)
        migrate(engine)
    except (DBAPIError, OSError, SchemaTooNew, NoSuchModuleError) as exc:
        raise StoreUnavailable(f"{setting}={shown}: cannot open the store ({reason(exc)})") from None
    return engine


def shown_url(url: str) -> str:
    """`url` as messages show it: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def reason(exc: BaseException) -> str:
    """The driver's own message, first line only (psycopg adds hints on further lines)."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        # Its own folder only (the default `.store`): a store under a mistyped path fails, it is not made up.
        Path(url.database).parent.mkdir(exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def configure(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN from the sqlite3 module: ours below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() not in ("wal", "memory"):  # an in-memory database has no WAL
            raise OSError(f"SQLite refused WAL mode (journal_mode is {mode})")
        cursor.execute("PRAGMA synchronous = NORMAL")  # WAL's recommended setting: durable at checkpoints
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin_immediate(conn) -> None:
        read_only = bool(conn.get_execution_options().get(READ_ONLY))
        conn.exec_driver_sql(f"PRAGMA query_only = {int(read_only)}")  # per connection: reset on each begin
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


@contextlib.contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection in one read-only transaction: on SQLite a deferred BEGIN that never takes the write lock,
    on PostgreSQL REPEATABLE READ READ ONLY; either way every query in it sees the same snapshot."""
    if engine.dialect.name == "postgresql":
        options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    else:
        options = {READ_ONLY: True}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        yield conn


def postgresql_engine(url: URL) -> Engine:
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
