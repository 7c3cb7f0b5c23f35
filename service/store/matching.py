"""`match_actuals(engine, models, rows)`: the logged forecasts newly posted actuals score, and the models they touch.

After a POST /v1/actuals commit: the forecast steps of `models` whose (unique_id, ds) is among the posted rows,
counted by (model, version) (the scored-points counter), and every model with any forecast of a posted series
(its live scores may change: a new newest actual moves its window). Looked up per series through the
`forecasts_by_model_series_ds` index, in one read transaction (engine.reading).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select

from paxcast.service.store.engine import reading
from paxcast.service.store.rows import Actual
from paxcast.service.store.schema import forecasts

# Timestamps per `ds IN (...)` lookup, well under SQLite's 32,766 parameters (as service/store/actuals.py).
LOOKUP = 2000


@dataclass(frozen=True)
class Matched:
    points: dict[tuple[str, str], int]  # (model, version) -> forecast steps the posted actuals score
    models: set[str]  # models with a forecast of any posted series


def match_actuals(engine, models: Sequence[str], rows: Sequence[Actual]) -> Matched:
    """The forecasts of `models` that `rows` score, and the models whose series got actuals."""
    by_series: dict[str, list] = {}
    for row in rows:
        by_series.setdefault(row.unique_id, []).append(row.ds)
    mine = forecasts.c.model.in_(bindparam("models", expanding=True))
    steps = (
        select(forecasts.c.model, forecasts.c.version, func.count())
        .where(
            mine,
            forecasts.c.unique_id == bindparam("unique_id"),
            forecasts.c.ds.in_(bindparam("ds", expanding=True)),
        )
        .group_by(forecasts.c.model, forecasts.c.version)
    )
    touched = select(forecasts.c.model).where(mine, forecasts.c.unique_id == bindparam("unique_id")).distinct()
    points: dict[tuple[str, str], int] = {}
    found: set[str] = set()
    if not models:
        return Matched(points, found)
    with reading(engine) as conn:
        for unique_id, stamps in by_series.items():
            found.update(conn.execute(touched, {"models": list(models), "unique_id": unique_id}).scalars())
            for start in range(0, len(stamps), LOOKUP):
                chunk = {"models": list(models), "unique_id": unique_id, "ds": stamps[start : start + LOOKUP]}
                for model, version, count in conn.execute(steps, chunk):
                    points[(model, version)] = points.get((model, version), 0) + count
    return Matched(points, found)
