"""`GET /v1/models/{name}/accuracy`: a served model's live scores from the store, beside seasonal naive's.

404 for a model not served (the forecast route's message), 422 for a bad `days`, `by` or `limit`, 503 when the
store cannot be read. The scoring (service/store/scoring.py) runs in a worker thread, in one read
transaction that on SQLite takes no write lock.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError

from paxcast.service.api.responses import JSONBytes
from paxcast.service.api.routes import serving
from paxcast.service.api.schemas import Problem
from paxcast.service.core.calendar import iso
from paxcast.service.store.engine import reason
from paxcast.service.store.scoring import Accuracy, Scores, Window, score, worst_first

router = APIRouter(prefix="/v1", tags=["accuracy"])
MAX_DAYS = 3660
BY_FIELD = {"version": "version", "series": "unique_id", "step": "step", "day": "day"}
DEFAULT_SERIES_LIMIT = 20


class NaiveScores(BaseModel):
    wape: float | None = Field(description="seasonal naive's pooled WAPE on the same points")
    mase: float | None = Field(description="seasonal naive's mean MASE over the same series")


class Excluded(BaseModel):
    no_actual: int = Field(description="forecasts in the window whose actual is not stored (yet)")
    no_naive: int = Field(description="points whose seasonal-naive actual is not stored: left out of both sides")
    series_without_scale: int = Field(description="series left out of MASE: no seasonal pair before the window")


class ScoresOut(BaseModel):
    points: int = Field(description="forecast steps scored (one per origin: an actual forecast twice counts twice)")
    series: int = Field(description="series with scored points")
    wape: float | None = Field(description="sum |y - mean| / sum |y| over the points")
    mase: float | None = Field(description="mean over series of MAE / the series' seasonal-naive scale")
    coverage: dict[str, float] = Field(description="level -> share of points inside that interval")
    interval_points: dict[str, int] = Field(description="level -> points that had that interval")
    naive: NaiveScores
    excluded: Excluded


class GroupOut(ScoresOut):
    version: str | None = Field(None, description="by=version: the version that served the points")
    unique_id: str | None = Field(None, description="by=series: the series")
    step: int | None = Field(None, description="by=step: steps after the origin (1 = the first)")
    day: str | None = Field(None, description="by=day: the date (YYYY-MM-DD) of the points' target timestamps")
    versions: dict[str, int] | None = Field(
        None, description="by=day: version -> forecast steps it served for that day (scored or not)"
    )


class WindowOut(BaseModel):
    from_: str = Field(alias="from", description="the window starts after this timestamp (exclusive)")
    to: str = Field(description="the newest actual among the model's series (inclusive)")


class AccuracyOut(BaseModel):
    model: str
    freq: str
    season: int = Field(description="the card's season: seasonal naive's lag and MASE's")
    days: int
    by: str
    window: WindowOut | None = Field(description="null while no actual of the model's series is stored")
    overall: ScoresOut
    groups: list[GroupOut] = Field(
        description="by=series: worst first (highest MASE), at most `limit`; else in key order (by=day: oldest first)"
    )
    groups_total: int = Field(description="groups before `limit`")


def scores_out(scores: Scores) -> dict:
    return {
        "points": scores.points,
        "series": scores.series,
        "wape": scores.wape,
        "mase": scores.mase,
        "coverage": {str(level): share for level, share in scores.coverage.items()},
        "interval_points": {str(level): n for level, n in scores.interval_points.items()},
        "naive": {"wape": scores.naive_wape, "mase": scores.naive_mase},
        "excluded": {
            "no_actual": scores.no_actual,
            "no_naive": scores.no_naive,
            "series_without_scale": scores.series_without_scale,
        },
    }


def group_out(by: str, key, scores: Scores) -> dict:
    if by != "day":
        return {BY_FIELD[by]: key, **scores_out(scores)}
    return {"day": key.isoformat(), "versions": scores.versions, **scores_out(scores)}


def window_out(window: Window | None, freq: str) -> dict | None:
    return {"from": iso(window.start, freq), "to": iso(window.end, freq)} if window else None


async def read_store(request: Request, read, *args):
    """`read(store, *args)` off the event loop; a 503 naming why when no store is open or it cannot be read."""
    if request.app.state.store is None:
        raise HTTPException(503, "no store is open: PAXCAST_LOG_FORECASTS is false and PAXCAST_INGEST_TOKEN unset")
    try:
        return await asyncio.to_thread(read, request.app.state.store, *args)
    except DBAPIError as exc:
        raise HTTPException(503, f"the store cannot be read ({reason(exc)})") from None


def accuracy_out(found: Accuracy, freq: str, season: int, days: int, limit: int) -> dict:
    groups = list(found.groups.items())
    groups = worst_first(groups)[:limit] if found.by == "series" else sorted(groups, key=lambda g: g[0])
    return {
        "model": found.model,
        "freq": freq,
        "season": season,
        "days": days,
        "by": found.by,
        "window": window_out(found.window, freq),
        "overall": scores_out(found.overall),
        "groups": [group_out(found.by, key, scores) for key, scores in groups],
        "groups_total": len(found.groups),
    }


@router.get(
    "/models/{name}/accuracy",
    response_model=AccuracyOut,
    responses={code: {"model": Problem} for code in (404, 422, 503)},
)
async def model_accuracy(
    name: str,
    request: Request,
    days: Annotated[
        int, Query(ge=1, le=MAX_DAYS, description="window length in days, back from the newest actual")
    ] = 28,
    by: Annotated[
        Literal["version", "series", "step", "day"],
        Query(description="how to group the points (day: by the date of their target timestamp)"),
    ] = "version",
    limit: Annotated[
        int | None, Query(ge=1, le=100_000, description=f"by=series only: the worst N (default {DEFAULT_SERIES_LIMIT})")
    ] = None,
) -> JSONBytes:
    """Live WAPE, MASE and interval coverage of model `name` over the last `days` days, with seasonal naive's."""
    card = serving(name, request).predictor.card
    if limit is not None and by != "series":
        raise HTTPException(422, f"limit: applies only to by=series (by is {by})")
    found = await read_store(request, score, name, card.season, card.freq, days, by)
    return JSONBytes(accuracy_out(found, card.freq, card.season, days, limit or DEFAULT_SERIES_LIMIT))
