"""The store's tables, as SQLAlchemy Core metadata (the shape migration 1 creates).

`actuals` are model-independent: one value per (unique_id, ds), replaced when posted again.
`forecasts` holds one row per served forecast step: which model and version answered, for which
series, from which origin (the last history timestamp), the target `ds` and its `step` (1 = the first
step after the origin), the mean and the request id. Scoring joins it to `actuals` on
(unique_id, ds) for one model, hence the index `forecasts_by_model_series_ds`.

Interval bounds live in a child table, `forecast_intervals` (forecast_id, level, lower, upper), not a
JSON column: coverage per level is then a plain join and GROUP BY on both SQLite and PostgreSQL, whose
JSON functions differ, and a request may ask for any set of levels without a schema change.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

from paxcast.service.core.request import ID_MAX_LENGTH

metadata = MetaData()

# SQLite keys an INTEGER PRIMARY KEY to its rowid; BIGINT there would not autoincrement.
ForecastId = BigInteger().with_variant(Integer(), "sqlite")

actuals = Table(
    "actuals",
    metadata,
    Column("unique_id", String(ID_MAX_LENGTH), primary_key=True),
    Column("ds", DateTime(), primary_key=True),  # naive, as the CSV files and requests carry it
    Column("y", Double(), nullable=False),
    Column("updated_at", DateTime(), nullable=False),  # UTC, naive
)

forecasts = Table(
    "forecasts",
    metadata,
    Column("id", ForecastId, primary_key=True, autoincrement=True),
    Column("model", String(200), nullable=False),
    Column("version", String(200), nullable=False),
    Column("unique_id", String(ID_MAX_LENGTH), nullable=False),
    Column("origin", DateTime(), nullable=False),
    Column("ds", DateTime(), nullable=False),
    Column("step", Integer(), nullable=False),
    Column("mean", Double(), nullable=False),
    Column("request_id", String(200), nullable=True),
    Column("created_at", DateTime(), nullable=False),  # UTC, naive; retention prunes by it
    Index("forecasts_by_model_series_ds", "model", "unique_id", "ds"),
    Index("forecasts_by_model_version_ds", "model", "version", "ds"),
    Index("forecasts_by_created_at", "created_at"),
)

forecast_intervals = Table(
    "forecast_intervals",
    metadata,
    Column("forecast_id", ForecastId, ForeignKey("forecasts.id", ondelete="CASCADE"), primary_key=True),
    Column("level", Integer(), primary_key=True),
    Column("lower", Double(), nullable=False),
    Column("upper", Double(), nullable=False),
)
