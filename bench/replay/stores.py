"""How big the replay left its store: bytes on disk and rows per table, SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from paxcast.service.store.schema import actuals, forecast_intervals, forecasts

TABLES = (forecasts, forecast_intervals, actuals)


def store_size(url: str) -> dict:
    """{"bytes": ..., "rows": {table: n}, ...} of the store at `url`, read after its server stopped.

    SQLite: the file after a WAL checkpoint (the WAL emptied into it). PostgreSQL: pg_database_size of the
    database, and each table's pg_total_relation_size (indexes and TOAST included)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES}
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                path = Path(engine.url.database)
                wal = path.with_name(path.name + "-wal")
                size = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
                return {"bytes": size, "rows": rows}
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            tables = {
                t.name: conn.execute(text("SELECT pg_total_relation_size(:t)"), {"t": t.name}).scalar_one()
                for t in TABLES
            }
            return {"bytes": size, "rows": rows, "table_bytes": tables}
    finally:
        engine.dispose()
