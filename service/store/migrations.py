"""Bring a store's schema up to date at start-up: numbered migrations and a `schema_version` table.

Not Alembic: the schema is three tables, the serving image and its lock file would gain Alembic and
Mako for it, and its script directory would have to ship in the wheel. A migration here is a numbered
Python function run on a SQLAlchemy connection; `migrate` applies every one newer than the store's
version, and records each, in ONE transaction, so a failed step leaves the store as it was. Several
workers or replicas starting at once are serialised: PostgreSQL by a transaction-scoped advisory lock,
SQLite by the write lock its `BEGIN IMMEDIATE` takes (service/store/engine.py).

Migration 1 creates the tables as service/store/schema.py declares them. A later change to schema.py
comes with migration 2, 3, ...; migration 1 must then keep creating the version-1 tables (copy them
into it before changing schema.py), so a fresh store and an upgraded one end up alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Column, Connection, DateTime, Engine, Integer, MetaData, Table, func, select, text

from paxcast.service.store import schema

# Any constant: the key of the advisory lock PostgreSQL holds while one process migrates.
ADVISORY_LOCK_KEY = 0x70617863  # "paxc"

versions = Table(
    "schema_version",
    MetaData(),
    Column("version", Integer(), primary_key=True, autoincrement=False),
    Column("applied_at", DateTime(), nullable=False),
)


def create_tables(conn: Connection) -> None:
    """1: actuals, forecasts and forecast_intervals with their indexes."""
    schema.metadata.create_all(conn, checkfirst=False)


MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (1, create_tables),
]
LATEST = MIGRATIONS[-1][0]


class SchemaTooNew(RuntimeError):
    """The store was migrated by a newer paxcast; this one does not know its tables."""


def schema_version(conn: Connection) -> int:
    """The newest migration applied to the store (0: none)."""
    return conn.execute(select(func.coalesce(func.max(versions.c.version), 0))).scalar_one()


def migrate(engine: Engine) -> list[int]:
    """Apply the pending migrations in one transaction; returns the numbers applied (empty: up to date)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        versions.create(conn, checkfirst=True)
        current = schema_version(conn)
        if current > LATEST:
            raise SchemaTooNew(f"the store's schema is at version {current}; this paxcast knows up to {LATEST}")
        applied = []
        for number, step in MIGRATIONS:
            if number > current:
                step(conn)
                conn.execute(versions.insert().values(version=number, applied_at=utc_now()))
                applied.append(number)
        return applied


def utc_now() -> dt.datetime:
    """Now in UTC, naive: the store keeps naive UTC times on both dialects."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
