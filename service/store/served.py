"""`served_series(engine, model, unique_id, days, limit)`: what one series was served and what then happened.

The window is the accuracy scores' (scoring.window_of: `days` days back from the newest actual of any series the
model has forecast), so a chart of one series lines up with the model's scores. Shown: the series' actuals in the
window, and the model's forecasts of it with a target in the window or after it (those still wait for their
actuals, and a planner wants them beside the rest), each cut to those steps; the newest `limit` forecasts, newest
origin first. A forecast is the steps one request got from one origin and version: two requests for the same
origin are two forecasts, as they were two answers. With no actual stored yet there is no window, and the newest
`limit` forecasts are shown whole.

Read in one read transaction (engine.reading), through the `forecasts_by_model_series_ds` index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Engine, and_, func, select

from paxcast.service.store.engine import reading
from paxcast.service.store.schema import actuals, forecasts
from paxcast.service.store.scoring import Window, bounds_of, window_of


@dataclass
class ServedForecast:
    """One answer's steps for the series: target timestamps, steps after the origin, means, and per level the
    (lower, upper) bounds, each a list in step order."""

    origin: dt.datetime
    version: str
    request_id: str | None
    ds: list[dt.datetime] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    intervals: dict[int, tuple[list[float], list[float]]] = field(default_factory=dict)


@dataclass
class SeriesLive:
    window: Window | None  # None: no actual stored for any series the model forecast
    actuals: list[tuple[dt.datetime, float]]  # (ds, y) in the window, oldest first
    forecasts: list[ServedForecast]  # newest origin first, at most `limit`
    forecasts_total: int  # forecasts before `limit`


def served_series(engine: Engine, model: str, unique_id: str, days: int, limit: int) -> SeriesLive:
    """The actuals of `unique_id` and the newest `limit` forecasts `model` served for it, over `days` days."""
    with reading(engine) as conn:
        window = window_of(conn, model, days)
        mine = and_(forecasts.c.model == model, forecasts.c.unique_id == unique_id)
        if window is not None:
            mine = and_(mine, forecasts.c.ds > window.start)
        # A forecast: the rows sharing origin, version and request id; its newest row id breaks ties of origin.
        key = (forecasts.c.origin, forecasts.c.version, forecasts.c.request_id)
        answers = select(*key, func.max(forecasts.c.id).label("last")).where(mine).group_by(*key)
        total = conn.execute(select(func.count()).select_from(answers.subquery())).scalar_one()
        chosen = conn.execute(answers.order_by(forecasts.c.origin.desc(), func.max(forecasts.c.id).desc()).limit(limit))
        found = {
            (origin, version, request_id): ServedForecast(origin, version, request_id)
            for origin, version, request_id, _ in chosen
        }
        if found:
            fill_steps(conn, found, and_(mine, forecasts.c.origin >= min(origin for origin, _, _ in found)))
        shown_actuals = []
        if window is not None:
            query = select(actuals.c.ds, actuals.c.y).where(
                actuals.c.unique_id == unique_id, actuals.c.ds > window.start, actuals.c.ds <= window.end
            )
            shown_actuals = [(ds, y) for ds, y in conn.execute(query.order_by(actuals.c.ds))]
    return SeriesLive(window, shown_actuals, list(found.values()), total)


def fill_steps(conn, found: dict[tuple, ServedForecast], rows_of) -> None:
    """Add to each forecast in `found` its steps among the rows `rows_of` selects, with their interval bounds."""
    query = select(
        forecasts.c.id,
        forecasts.c.origin,
        forecasts.c.version,
        forecasts.c.request_id,
        forecasts.c.ds,
        forecasts.c.step,
        forecasts.c.mean,
    ).where(rows_of)
    by_id: dict[int, tuple[ServedForecast, int]] = {}
    for forecast_id, origin, version, request_id, ds, step, mean in conn.execute(query.order_by(forecasts.c.step)):
        forecast = found.get((origin, version, request_id))
        if forecast is None:  # a forecast past `limit` from the oldest origin shown
            continue
        by_id[forecast_id] = (forecast, len(forecast.ds))
        forecast.ds.append(ds)
        forecast.steps.append(step)
        forecast.mean.append(mean)
    for forecast_id, level, lower, upper in conn.execute(bounds_of(rows_of)):
        if forecast_id not in by_id:
            continue
        forecast, position = by_id[forecast_id]
        lowers, uppers = forecast.intervals.setdefault(level, ([None] * len(forecast.ds), [None] * len(forecast.ds)))
        lowers[position], uppers[position] = lower, upper
