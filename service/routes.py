"""HTTP routes: one straight path from request to onnxruntime and back."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from paxcast.service import metrics
from paxcast.service.calendar import future_timestamps
from paxcast.service.predictor import InvalidInput, Predictor
from paxcast.service.responses import JSONBytes
from paxcast.service.schemas import ForecastRequest, ForecastResponse, Problem

# Batches above this run in a worker thread so one big request cannot stall the event loop.
INLINE_BATCH = 64

router = APIRouter()
ERRORS = {code: {"model": Problem} for code in (400, 413, 422, 503)}


async def get_predictor(request: Request) -> Predictor:
    predictor = request.app.state.holder.predictor
    if predictor is None:
        raise HTTPException(503, "no model is loaded")
    return predictor


PredictorDep = Annotated[Predictor, Depends(get_predictor)]


def parse_forecast_request(raw: bytes) -> ForecastRequest:
    """Validate the body as JSON whatever its Content-Type (`curl -d` sends a form type)."""
    try:
        return ForecastRequest.model_validate_json(raw)
    except ValidationError as exc:
        try:
            body = json.loads(raw)  # only to name the series in the message; stdlib takes NaN too
        except ValueError:
            body = None
        raise RequestValidationError(exc.errors(include_url=False, include_input=False), body=body) from None


REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ForecastRequest"}}},
    }
}


@router.post("/v1/forecast", response_model=ForecastResponse, responses=ERRORS, openapi_extra=REQUEST_BODY)
async def forecast(request: Request, predictor: PredictorDep) -> JSONBytes:
    """Forecast `horizon` steps for every posted series, in one batch."""
    body = parse_forecast_request(await request.body())
    settings = request.app.state.settings
    if len(body.series) > settings.max_series:
        raise HTTPException(413, f"request has {len(body.series)} series; the limit is {settings.max_series} (PAXCAST_MAX_SERIES)")
    ids = [s.id for s in body.series]
    for s in body.series:
        if len(s.history) > settings.max_history:
            raise HTTPException(413, f"series '{s.id}': history has {len(s.history)} values; " f"the limit is {settings.max_history} (PAXCAST_MAX_HISTORY)")
    x = predictor.batch(ids, [s.history for s in body.series], body.horizon)
    levels = predictor.check_levels(body.level) if body.level is not None else []
    started = time.perf_counter()
    if len(x) <= INLINE_BATCH:
        mean = predictor.predict(x, body.horizon)
    else:
        mean = await run_in_threadpool(predictor.predict, x, body.horizon)
    inference_seconds = time.perf_counter() - started
    bad = np.flatnonzero(~np.isfinite(mean).all(axis=1))
    if len(bad):
        raise InvalidInput(f"series '{ids[bad[0]]}': the forecast is not finite; " "the history is outside the range this model can forecast")
    intervals = predictor.intervals(mean, levels) if levels else None
    forecasts = []
    for row, s in enumerate(body.series):
        out: dict = {"id": s.id, "mean": mean[row]}
        if s.start is not None:
            start = dt.datetime.combine(s.start, dt.time())
            out["timestamps"] = future_timestamps(start, len(s.history), body.horizon, predictor.meta["freq"])
        if intervals is not None:
            out["intervals"] = {label: {"lower": lo[row], "upper": hi[row]} for label, (lo, hi) in intervals.items()}
        forecasts.append(out)
    metrics.observe_forecast(inference_seconds, len(forecasts), body.horizon)
    payload = {"model": {"name": predictor.name, "version": predictor.version}, "forecasts": forecasts}
    return JSONBytes(payload, headers={"X-Model-Version": predictor.version})  # the version that produced it


@router.get("/healthz")
async def healthz() -> dict:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"model": Problem}})
async def readyz(predictor: PredictorDep) -> dict:
    """A model is loaded and answers a probe forecast."""
    try:
        predictor.probe()
    except Exception as exc:  # any failure means not ready, never a 500
        raise HTTPException(503, f"model {predictor.version} does not answer: {exc}") from None
    return {"status": "ready", "model": {"name": predictor.name, "version": predictor.version}}


@router.get("/v1/model")
async def model_info(predictor: PredictorDep) -> dict:
    """The served version's model.json."""
    return predictor.meta
