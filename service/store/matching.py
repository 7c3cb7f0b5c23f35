"""`match_actuals(engine, models, rows)`: the logged forecasts newly posted actuals score, and the models they touch.

After a POST /v1/actuals commit: the forecast steps of `models` whose (unique_id, ds) is among the posted rows,
counted by (model, version) (the scored-points counter), and every model with any forecast of a posted series
(its live scores may change: a new newest actual moves its window). Looked up per series through the
`forecasts_by_model_series_ds` index, in one read transaction (engine.reading).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select

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
    # One model per query, no GROUP BY: with `model IN (...)` and `GROUP BY version` SQLite took the (model,
    # version, ds) index and scanned every row of the model per series (20 s for 584 series).
    mine = forecasts.c.model == bindparam("model")
    # The matched rows' versions, counted here: a GROUP BY version made SQLite prefer the index sorted by version.
    steps = select(forecasts.c.version).where(
        mine, forecasts.c.unique_id == bindparam("unique_id"), forecasts.c.ds.in_(bindparam("ds", expanding=True))
    )
    touched = select(forecasts.c.id).where(mine, forecasts.c.unique_id == bindparam("unique_id")).limit(1)
    points: dict[tuple[str, str], int] = {}
    found: set[str] = set()
    with reading(engine) as conn:
        for model in models:
            for unique_id, stamps in by_series.items():
                if conn.execute(touched, {"model": model, "unique_id": unique_id}).first() is None:
                    continue
                found.add(model)
                for start in range(0, len(stamps), LOOKUP):
                    chunk = {"model": model, "unique_id": unique_id, "ds": stamps[start : start + LOOKUP]}
                    for version in conn.execute(steps, chunk).scalars():
                        points[(model, version)] = points.get((model, version), 0) + 1
    return Matched(points, found)
