"""`GET /v1/models/{name}/live/{series_id}`: the forecasts a served model gave one series, over its actuals.

The page's chart of one series beside the model's live scores. Read-only, no token; the window is the accuracy
route's (service/store/served.py). 404 for a model not served, 422 for a bad `days` or `limit`, 503 when the
store is off or cannot be read. The output is bounded: at most `limit` forecasts (each at most the model's
horizon) and `days` days of actuals (`days` as the accuracy route's, so the page asks both for one window: at
most 3660 days, 87,840 hourly values). Not under `/series/`: the shipped-series route takes any path after it as
an id, so `.../series/a/live` would be series 'a/live'.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from paxcast.service.api.accuracy import MAX_DAYS, WindowOut, read_store, window_out
from paxcast.service.api.responses import JSONBytes
from paxcast.service.api.routes import serving
from paxcast.service.api.schemas import Problem
from paxcast.service.core.calendar import iso
from paxcast.service.store.served import SeriesLive, ServedForecast, served_series

router = APIRouter(prefix="/v1", tags=["accuracy"])
MAX_FORECASTS = 500
DEFAULT_FORECASTS = 60


class ActualsOut(BaseModel):
    ds: list[str] = Field(description="timestamps in the window, oldest first")
    y: list[float] = Field(description="the posted actual of each")


class BoundsOut(BaseModel):
    lower: list[float | None]
    upper: list[float | None]


class ServedForecastOut(BaseModel):
    origin: str = Field(description="the last history timestamp of the request")
    version: str = Field(description="the version that answered")
    request_id: str | None = Field(description="the request's X-Request-ID")
    ds: list[str] = Field(description="the target timestamps in or after the window, in step order")
    step: list[int] = Field(description="steps after the origin (1 = the first)")
    mean: list[float]
    intervals: dict[str, BoundsOut] = Field(description="level -> bounds, per step; {} without intervals")


class SeriesLiveOut(BaseModel):
    model: str
    unique_id: str
    freq: str
    days: int
    window: WindowOut | None = Field(description="the accuracy route's window; null while no actual is stored")
    actuals: ActualsOut
    forecasts: list[ServedForecastOut] = Field(description="newest origin first, at most `limit`")
    forecasts_total: int = Field(description="forecasts with a target in or after the window, before `limit`")


def forecast_out(forecast: ServedForecast, freq: str) -> dict:
    return {
        "origin": iso(forecast.origin, freq),
        "version": forecast.version,
        "request_id": forecast.request_id,
        "ds": [iso(ds, freq) for ds in forecast.ds],
        "step": forecast.steps,
        "mean": forecast.mean,
        "intervals": {
            str(level): {"lower": lower, "upper": upper} for level, (lower, upper) in sorted(forecast.intervals.items())
        },
    }


def series_live_out(found: SeriesLive, name: str, unique_id: str, freq: str, days: int) -> dict:
    return {
        "model": name,
        "unique_id": unique_id,
        "freq": freq,
        "days": days,
        "window": window_out(found.window, freq),
        "actuals": {"ds": [iso(ds, freq) for ds, _ in found.actuals], "y": [y for _, y in found.actuals]},
        "forecasts": [forecast_out(forecast, freq) for forecast in found.forecasts],
        "forecasts_total": found.forecasts_total,
    }


@router.get(
    "/models/{name}/live/{series_id:path}",
    response_model=SeriesLiveOut,
    responses={code: {"model": Problem} for code in (404, 422, 503)},
)
async def series_live(
    name: str,
    series_id: str,
    request: Request,
    days: Annotated[
        int, Query(ge=1, le=MAX_DAYS, description="window length in days, back from the newest actual")
    ] = 28,
    limit: Annotated[
        int, Query(ge=1, le=MAX_FORECASTS, description="the newest N forecasts of the series")
    ] = DEFAULT_FORECASTS,
) -> JSONBytes:
    """Series `series_id`'s actuals over the last `days` days and the newest forecasts model `name` served it."""
    card = serving(name, request).predictor.card
    found = await read_store(request, served_series, name, series_id, days, limit)
    return JSONBytes(series_live_out(found, name, series_id, card.freq, days))
