"""Rows as the forecast logging writer stores them (service/store/schema.py), inserted directly: the scoring tests
need logged forecasts, not the writer. One `forecasts` row per served step, its interval bounds per level in
`forecast_intervals`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from paxcast.service.store.migrations import utc_now
from paxcast.service.store.schema import forecast_intervals, forecasts


def log_forecast(
    engine: Engine,
    model: str,
    version: str,
    unique_id: str,
    origin: dt.datetime,
    ds: dt.datetime,
    step: int,
    mean: float,
    intervals: dict[int, tuple[float, float]] | None = None,
    request_id: str = "test",
) -> int:
    """Insert one served step (and its intervals, level -> (lower, upper)); return its forecast id."""
    with engine.begin() as conn:
        row = dict(model=model, version=version, unique_id=unique_id, origin=origin, ds=ds, step=step, mean=mean)
        forecast_id = conn.execute(
            forecasts.insert().values(**row, request_id=request_id, created_at=utc_now())
        ).inserted_primary_key[0]
        for level, (lower, upper) in (intervals or {}).items():
            conn.execute(
                forecast_intervals.insert().values(forecast_id=forecast_id, level=level, lower=lower, upper=upper)
            )
    return forecast_id
