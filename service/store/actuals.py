"""`write_actuals(engine, rows)`: insert or replace observed values in one transaction, counting which.

An upsert per dialect (`INSERT ... ON CONFLICT (unique_id, ds) DO UPDATE`), sent in batches of BATCH
rows (executemany). What was new and what replaced a stored value is counted exactly on both:

- PostgreSQL returns `xmax = 0` per row: a row inserted by this statement has no deleting
  transaction yet, an updated one carries ours. Exact under concurrent writers, without a lock.
- SQLite has no such column; its transaction holds the database's write lock from `BEGIN IMMEDIATE`
  (service/store/engine.py), so the keys already stored, counted first in the same transaction
  (per series, through the primary key's index), cannot change before the upsert.

The caller guarantees each (unique_id, ds) appears once in `rows` (rows.first_repeat; a file's batches:
actuals_file.ActualsFile, which raises after its last batch, so the transaction rolls back): PostgreSQL
refuses to update one row twice in a statement, and "replaced" would be ambiguous.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Boolean, Connection, Engine, bindparam, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite

from paxcast.service.store.migrations import utc_now
from paxcast.service.store.rows import Actual
from paxcast.service.store.schema import actuals

BATCH = 5000
# Timestamps per `ds IN (...)` lookup, well under SQLite's 32,766 parameters.
LOOKUP = 2000


@dataclass(frozen=True)
class Written:
    """How many rows were new, and how many replaced a stored value."""

    new: int
    replaced: int


def write_actuals(engine: Engine, rows: Sequence[Actual], batch: int = BATCH) -> Written:
    """Upsert `rows` (each key once) in one transaction; nothing is written if any statement fails."""
    return write_actual_batches(engine, (rows[start : start + batch] for start in range(0, len(rows), batch)))


def write_actual_batches(engine: Engine, batches: Iterable[Sequence[Actual]]) -> Written:
    """Upsert every batch in one transaction, drawing the next only when the last is sent, so a file
    streams through without being held; an exception from `batches` (a bad row read late) rolls back all."""
    now = utc_now()
    new = replaced = 0
    with engine.begin() as conn:
        write = _write_postgresql if conn.dialect.name == "postgresql" else _write_sqlite
        for rows in batches:
            written = write(conn, rows, now)
            new, replaced = new + written.new, replaced + written.replaced
    return Written(new=new, replaced=replaced)


def _params(rows: Sequence[Actual], now) -> list[dict]:
    return [{"unique_id": r.unique_id, "ds": r.ds, "y": r.y, "updated_at": now} for r in rows]


def _write_postgresql(conn: Connection, rows: Sequence[Actual], now) -> Written:
    insert = postgresql.insert(actuals)
    upsert = insert.on_conflict_do_update(
        index_elements=[actuals.c.unique_id, actuals.c.ds],
        set_={"y": insert.excluded.y, "updated_at": insert.excluded.updated_at},
    ).returning(literal_column("xmax = 0", Boolean).label("inserted"))
    new = sum(conn.execute(upsert, _params(rows, now)).scalars())
    return Written(new=new, replaced=len(rows) - new)


def _write_sqlite(conn: Connection, rows: Sequence[Actual], now) -> Written:
    # Looked up per series: `unique_id = ? AND ds IN (...)` walks the primary key's index, where the
    # row-value form `(unique_id, ds) IN (VALUES ...)` made SQLite scan the whole table per lookup.
    by_series: dict[str, list] = {}
    for row in rows:
        by_series.setdefault(row.unique_id, []).append(row.ds)
    lookup = (
        select(func.count())
        .select_from(actuals)
        .where(actuals.c.unique_id == bindparam("unique_id"), actuals.c.ds.in_(bindparam("ds", expanding=True)))
    )
    stored = 0
    for unique_id, stamps in by_series.items():
        for start in range(0, len(stamps), LOOKUP):
            chunk = stamps[start : start + LOOKUP]
            stored += conn.execute(lookup, {"unique_id": unique_id, "ds": chunk}).scalar_one()
    insert = sqlite.insert(actuals)
    upsert = insert.on_conflict_do_update(
        index_elements=[actuals.c.unique_id, actuals.c.ds],
        set_={"y": insert.excluded.y, "updated_at": insert.excluded.updated_at},
    )
    conn.execute(upsert, _params(rows, now))
    return Written(new=len(rows) - stored, replaced=stored)
