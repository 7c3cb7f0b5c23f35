"""Reading a store from a test without the code under test: how many rows a table holds."""

from __future__ import annotations

from sqlalchemy import Table, create_engine, func, select


def stored_count(url: str, table: Table) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()
    finally:
        engine.dispose()
