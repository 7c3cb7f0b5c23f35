"""The web page at `/` and the read-only endpoints it needs: shipped series, registry history, backtest.

The page is static files in `service/api/static/` (no CDN, no build step); everything it
shows comes from the public API plus these routes, which read the data set and the
registry and never change anything.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import ValidationError

from paxcast.service.api.backtest_file import BacktestInvalid, backtest_of
from paxcast.service.api.datasets import load_data_set, plain_name, search
from paxcast.service.api.schemas import (
    HistoryRecord,
    ModelBacktest,
    ModelHistory,
    Problem,
    SeriesCatalog,
    SeriesEntry,
    SeriesValues,
)
from paxcast.service.core.contract import ModelCard
from paxcast.service.core.files import read_regular
from paxcast.service.core.history import HISTORY_FILE, newest_records
from paxcast.service.inference.holder import ModelHolder

STATIC = Path(__file__).parent / "static"
# The only files served under /static/: a fixed list, so no path from a URL ever reaches the disk.
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "input.js": "text/javascript; charset=utf-8",
    "accuracy.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "uPlot.min.css": "text/css; charset=utf-8",
    "LICENSE-uPlot.txt": "text/plain; charset=utf-8",
}
# Everything the page loads comes from this origin; a stray CDN link would be refused by the browser.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
}
BACKTEST_FILE = "backtest.json"

router = APIRouter()
ERRORS = {code: {"model": Problem} for code in (404, 422, 503)}


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
async def page() -> FileResponse:
    """The forecast page."""
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.get("/static/{asset}", include_in_schema=False)
async def static_asset(asset: str) -> FileResponse:
    """The page's scripts and styles, served locally."""
    if asset not in ASSETS:
        raise HTTPException(404, f"no static file '{asset}'")
    return FileResponse(STATIC / asset, media_type=ASSETS[asset], headers=PAGE_HEADERS)


def holder_named(name: str, request: Request) -> ModelHolder:
    """The holder of served model `name`; 404 naming the served ones otherwise."""
    models = request.app.state.models
    holder = models.get(name)
    if holder is None:
        raise HTTPException(404, f"model '{name}' is not served here (served: {', '.join(models.holders)})")
    return holder


def card_of(name: str, request: Request) -> ModelCard:
    """The card of the version model `name` serves now; 503 with the reason when it is not loaded."""
    holder = holder_named(name, request)
    predictor = holder.predictor
    if predictor is None:
        raise HTTPException(503, f"model '{name}' is not loaded: {holder.problem}")
    return predictor.card


@router.get("/v1/models/{name}/series", response_model=SeriesCatalog, responses=ERRORS)
def list_series(
    name: str,
    request: Request,
    q: Annotated[
        str, Query(max_length=200, description="words that the id or the name must all contain, any case")
    ] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SeriesCatalog:
    """The series shipped with the model's data set (PAXCAST_DATA_DIR), searchable by id and name."""
    card = card_of(name, request)
    data = load_data_set(request.app.state.settings.data_dir, card.data_file, card.freq)
    total, found = search(data, q, limit)
    entries = [
        SeriesEntry(
            id=s.id,
            name=s.name,
            length=len(s.values),
            start=s.timestamp(0, card.freq),
            end=s.timestamp(len(s.values) - 1, card.freq),
        )
        for s in found
    ]
    return SeriesCatalog(
        model=name,
        data_file=plain_name(card.data_file),
        available=bool(data.series),
        problem=data.problem,
        trained_on_this_file=None if data.sha256 is None else data.sha256 == card.data_sha256,
        total=total,
        series=entries,
    )


@router.get("/v1/models/{name}/series/{series_id:path}", response_model=SeriesValues, responses=ERRORS)
def series_values(
    name: str,
    series_id: str,
    request: Request,
    last: Annotated[
        int | None, Query(ge=1, description="how many of the newest values (default: the model's window)")
    ] = None,
) -> SeriesValues:
    """The newest `last` values of one shipped series with the timestamp of the first."""
    card = card_of(name, request)
    data = load_data_set(request.app.state.settings.data_dir, card.data_file, card.freq)
    if data.problem is not None:
        raise HTTPException(
            404, f"model '{name}': its data set ({plain_name(card.data_file)}) cannot be offered: {data.problem}"
        )
    shipped = data.series.get(series_id)
    if shipped is None:
        raise HTTPException(
            404, f"model '{name}': its data set ({plain_name(card.data_file)}) has no series '{series_id}'"
        )
    count = min(last or card.window, len(shipped.values), request.app.state.settings.max_history)
    first = len(shipped.values) - count
    values = [v if math.isfinite(v) else None for v in shipped.values[first:].tolist()]  # JSON has no NaN
    return SeriesValues(
        id=shipped.id,
        name=shipped.name,
        freq=card.freq,
        start=shipped.timestamp(first, card.freq),
        values=values,
        missing=sum(v is None for v in values),
    )


@router.get("/v1/models/{name}/history", response_model=ModelHistory, responses=ERRORS)
def model_history(name: str, request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> ModelHistory:
    """The registry's history.jsonl for model `name`: retrains and rollbacks, newest first.

    Read from the end of the file until `limit` records are found (core.history.newest_records);
    a line that is not a record is skipped and counted.
    """
    holder_named(name, request)
    records, skipped = [], 0
    try:
        with contextlib.closing(newest_records(request.app.state.settings.model_dir, name)) as lines:
            for raw in lines:
                try:
                    records.append(HistoryRecord.model_validate(raw))
                except ValidationError:  # None (a line parse_line skips) fails too
                    skipped += 1
                if len(records) == limit:
                    break
    except OSError as exc:
        raise HTTPException(404, unreadable(name, HISTORY_FILE, exc)) from None
    return ModelHistory(model=name, records=records, skipped=skipped)


@router.get("/v1/models/{name}/backtest", response_model=ModelBacktest, responses=ERRORS)
def model_backtest(name: str, request: Request) -> ModelBacktest:
    """The backtest kept in the registry as `<name>/backtest.json` (`paxcast backtest --json`); 404 without one."""
    holder_named(name, request)
    path = Path(request.app.state.settings.model_dir) / name / BACKTEST_FILE
    try:
        raw = read_regular(path)  # a FIFO there must not hold a worker thread for ever
    except FileNotFoundError:
        raise HTTPException(404, f"model '{name}' has no backtest in the registry ({BACKTEST_FILE})") from None
    except OSError as exc:
        raise HTTPException(404, unreadable(name, BACKTEST_FILE, exc)) from None
    try:
        return backtest_of(name, raw)
    except BacktestInvalid as exc:
        raise HTTPException(404, f"model '{name}': {BACKTEST_FILE} in the registry cannot be read: {exc}") from None


def unreadable(name: str, file: str, exc: OSError) -> str:
    """The 404 detail for a registry file the system refuses to read; the OS's reason, never the server path."""
    return f"model '{name}': {file} in the registry cannot be read ({exc.strerror or type(exc).__name__})"
