"""`write_forecasts(engine, columns)`: served forecasts and their interval bounds in one transaction; and
`prune_forecasts`, the retention that removes old ones in bounded batches.

A bound row names its forecast's id, so the ids are allocated before the insert, in the same
transaction:

- SQLite: `max(id) + 1 ...`. The transaction starts with `BEGIN IMMEDIATE` (engine.py), which takes the
  database file's one write lock before the max is read and keeps it until commit, so no other
  connection, in this process or another worker's, can insert between the read and our insert. The
  max of an INTEGER PRIMARY KEY is one b-tree lookup. (Ids only grow while the newest forecast is kept;
  retention never removes it unless nothing was served for PAXCAST_STORE_RETENTION_DAYS.)
- PostgreSQL: `nextval` of the id column's sequence, once per row in one statement. A sequence hands
  each value out once whatever other sessions do (it is not transactional), so replicas sharing the
  store never collide; the values need not be contiguous, which is why they are read back.

Each table is ONE statement whose rows arrive as one JSON array (`INSERT ... SELECT` from `json_each` on
SQLite, `json_array_elements` on PostgreSQL), built by orjson from the columns in C. Not executemany: the
sqlite3 module releases and retakes the GIL around every row it steps, and each retake made the event
loop's thread hand the GIL back (2,800 -> 530 airline requests/s in `bench.perf.forecast_logging`);
one statement is one release, and no per-row Python or SQLAlchemy processing runs at all. Times arrive
as SQLAlchemy's SQLite DateTime text (forecast_rows.sql_time); PostgreSQL casts the same text.
"""

from __future__ import annotations

import datetime as dt
from itertools import repeat

import numpy as np
import orjson
from sqlalchemy import Connection, Engine, bindparam, delete, select

from paxcast.service.store.forecast_rows import Columns
from paxcast.service.store.schema import forecast_intervals, forecasts

FORECAST_COLUMNS = ("id", "model", "version", "unique_id", "origin", "ds", "step", "mean", "request_id", "created_at")
INTERVAL_COLUMNS = ("forecast_id", "level", "lower", "upper")
# Forecasts removed per retention transaction: short enough that the write lock is never held for long.
PRUNE_BATCH = 5000
SQL_TYPES = {"id": "bigint", "forecast_id": "bigint", "step": "integer", "level": "integer"}
TIMES = ("origin", "ds", "created_at")


def insert_sql(dialect: str, table: str, columns: tuple[str, ...]) -> str:
    """`INSERT INTO table (columns) SELECT ...` reading each row from one JSON array of arrays (the parameter)."""
    quoted = ", ".join(f'"{name}"' for name in columns)
    if dialect == "postgresql":
        types = {"mean": "float8", "lower": "float8", "upper": "float8"} | SQL_TYPES
        fields = ", ".join(
            f"(r ->> {k})::{types.get(name, 'timestamp' if name in TIMES else 'text')}"
            for k, name in enumerate(columns)
        )
        return f"INSERT INTO {table} ({quoted}) SELECT {fields} FROM json_array_elements(%s::json) AS r"
    fields = ", ".join(f"json_extract(value, '$[{k}]')" for k in range(len(columns)))
    return f"INSERT INTO {table} ({quoted}) SELECT {fields} FROM json_each(?)"


def allocate_ids(conn: Connection, n: int) -> list[int]:
    """`n` forecast ids no other writer can take (module docstring)."""
    if conn.dialect.name == "postgresql":
        sql = "SELECT nextval(pg_get_serial_sequence('forecasts', 'id')) FROM generate_series(1, %(n)s)"
        return conn.exec_driver_sql(sql, {"n": n}).scalars().all()
    first = conn.exec_driver_sql("SELECT coalesce(max(id), 0) + 1 FROM forecasts").scalar_one()
    return list(range(first, first + n))


def write_forecasts(engine: Engine, columns: Columns) -> int:
    """Insert every row of `columns` and its bounds in one transaction; the number of forecast rows."""
    if not len(columns):
        return 0
    with engine.begin() as conn:
        dialect = conn.dialect.name
        ids = allocate_ids(conn, len(columns))
        rows = zip(
            ids,
            columns.model,
            columns.version,
            columns.unique_id,
            columns.origin,
            columns.ds,
            columns.step,
            columns.mean,
            columns.request_id,
            columns.created_at,
            strict=True,
        )
        conn.exec_driver_sql(insert_sql(dialect, "forecasts", FORECAST_COLUMNS), (orjson.dumps(list(rows)).decode(),))
        if columns.bounds:
            id_array = np.asarray(ids, dtype=np.int64)
            bounds = []
            for level, positions, lower, upper in columns.bounds:
                bounds.extend(zip(id_array[positions].tolist(), repeat(level), lower, upper))
            document = orjson.dumps(bounds).decode()
            conn.exec_driver_sql(insert_sql(dialect, "forecast_intervals", INTERVAL_COLUMNS), (document,))
    return len(columns)


def prune_forecasts(engine: Engine, before: dt.datetime, batch: int = PRUNE_BATCH) -> int:
    """Remove up to `batch` forecasts created before `before` (UTC, naive) and their bounds, in one
    transaction; returns how many forecasts went (fewer than `batch`: nothing older is left). Actuals
    are never touched."""
    with engine.begin() as conn:
        ids = conn.execute(select(forecasts.c.id).where(forecasts.c.created_at < before).limit(batch)).scalars().all()
        if ids:
            chosen = bindparam("ids", expanding=True)
            conn.execute(delete(forecast_intervals).where(forecast_intervals.c.forecast_id.in_(chosen)), {"ids": ids})
            conn.execute(delete(forecasts).where(forecasts.c.id.in_(chosen)), {"ids": ids})
    return len(ids)
