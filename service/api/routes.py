"""HTTP routes: one straight path from request to onnxruntime and back, for every served model."""

from __future__ import annotations

import inspect
import time
from typing import Annotated, NamedTuple

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from starlette.responses import Response

from paxcast.service.api.limits import check_request_limits, response_bytes_bound
from paxcast.service.api.parsing import read_forecast_request
from paxcast.service.api.responses import forecast_response, streamed_forecast_response
from paxcast.service.api.schemas import ForecastResponse, ModelRef, ModelSummary, Problem, Readiness
from paxcast.service.core.contract import ModelCard
from paxcast.service.inference import metrics
from paxcast.service.inference.batching import Batcher
from paxcast.service.inference.holder import ServedModels
from paxcast.service.inference.predictor import ForecastResult, Predictor
from paxcast.service.store.forecast_rows import served
from paxcast.service.store.migrations import utc_now

# Requests with more series are checked and finished in a worker thread so one big request cannot stall the event loop.
INLINE_SERIES = 64
# Answers that may be larger than this (limits.response_bytes_bound) are streamed, rendered part by part.
STREAM_BYTES = 8 << 20

router = APIRouter()
ERRORS = {code: {"model": Problem} for code in (400, 404, 413, 422, 503)}


def served_models(request: Request) -> ServedModels:
    return request.app.state.models


class Serving(NamedTuple):
    """What one request uses: the predictor model `name` serves now (read once) and the model's batcher."""

    predictor: Predictor
    batcher: Batcher


def serving(name: str, request: Request) -> Serving:
    """Model `name` as it serves now; 404 for a model not served, 503 for one that is not loaded."""
    holder = served_models(request).get(name)
    if holder is None:
        served = ", ".join(served_models(request).holders)
        raise HTTPException(404, f"model '{name}' is not served here (served: {served})")
    predictor = holder.predictor
    if predictor is None:
        raise HTTPException(503, f"model '{name}' is not loaded: {holder.problem}")
    request.state.model = predictor  # the request log names the model and version that answered
    return Serving(predictor, holder.batcher)


async def path_model(name: str, request: Request) -> Serving:
    return serving(name, request)


async def default_model(request: Request) -> Serving:
    return serving(served_models(request).default, request)


NamedModel = Annotated[Serving, Depends(path_model)]
DefaultModel = Annotated[Serving, Depends(default_model)]


REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ForecastRequest"}}},
    }
}
FORECAST = dict(response_model=ForecastResponse, responses=ERRORS, openapi_extra=REQUEST_BODY)


async def answer(request: Request, model: Serving | None) -> Response:
    """Parse, check (before queuing: a bad request fails alone), forecast in a shared batch, finish, render.

    `model` None: the default model, or the one served for the request's `freq`."""
    body = await read_forecast_request(request)
    check_request_limits(body, request.app.state.settings)
    if model is None:
        model = serving(served_models(request).for_freq(body.freq), request)
    predictor, offload = model.predictor, len(body.series) > INLINE_SERIES
    prepared = await run_in_threadpool(predictor.prepare, body) if offload else predictor.prepare(body)
    started = time.perf_counter()
    rows = await model.batcher.run(predictor, prepared.x, prepared.calendar)
    metrics.observe_forecast(predictor.name, time.perf_counter() - started, len(body.series), body.horizon)
    if not offload:
        result = predictor.finish(prepared, rows)
        log_forecast(request, result)
        return forecast_response(result)
    # finish and render off the event loop: a large answer must not stall /healthz
    result = await run_in_threadpool(predictor.finish, prepared, rows)
    log_forecast(request, result)
    if response_bytes_bound(body) > STREAM_BYTES:
        return streamed_forecast_response(result)
    return await run_in_threadpool(forecast_response, result)


def log_forecast(request: Request, result: ForecastResult) -> None:
    """Hand the answer to the forecast log (a reference and a row count: the writer thread does the rest).

    An answer without any `start` has no row to log: it is not even handed over (its entry and the clock
    read cost every such request a few µs for nothing)."""
    forecast_log = request.app.state.forecast_log
    if forecast_log is not None and result.timestamps.count(None) < len(result.timestamps):
        request_id = request.scope.get("state", {}).get("request_id")
        forecast_log.submit(served(result, request_id and request_id.decode(), utc_now()))


async def forecast_with(name: str, request: Request) -> Response:
    """Forecast `horizon` steps for every posted series with model `name`, in one batch."""
    return await answer(request, serving(name, request))


async def forecast(request: Request) -> Response:
    """Forecast with the default model (PAXCAST_MODEL_NAME), or with the model served for the request's `freq`
    (PAXCAST_MODELS_BY_FREQ: monthly general_monthly, quarterly general_quarterly)."""
    return await answer(request, None)


class DirectRoute(APIRoute):
    """A route whose handler calls its endpoint with the request and the path's parameters, nothing else.

    The forecast endpoints parse their body and look their model up themselves, so FastAPI's
    dependency solver had nothing to do but still cost ~35 us of a ~250 us request (cProfile of
    `bench.perf.path`'s request loop, an ad-hoc run; docs/performance.md section 9). The route is still an
    APIRoute: OpenAPI documents it from its signature and `FORECAST`, and the app's exception handlers
    answer what it raises.
    """

    def get_route_handler(self):
        # What this handler skips must not be needed: no dependencies (a router- or app-level one would
        # silently not run), a coroutine returning a Response; path parameters arrive as strings.
        if self.dependant.dependencies or not inspect.iscoroutinefunction(self.endpoint):
            raise TypeError(f"DirectRoute {self.path}: the endpoint must be a coroutine without dependencies")
        endpoint = self.endpoint

        async def handle(request: Request) -> Response:
            return await endpoint(request=request, **request.path_params)

        return handle


def install_forecast_routes(app: FastAPI) -> None:
    """The forecast routes, on the app's own router ahead of every included one: FastAPI resolves an included
    router's routes per request (~17 us of a ~250 us request in an ad-hoc run of `bench.perf.path`'s loop); its own
    are a list. And first in that list: Starlette tries routes in order, and the docs routes FastAPI adds when the
    app is made (/openapi.json, /docs, ...) would cost every forecast a failed match each. No path of theirs can
    match a forecast's, so the order changes no answer."""
    routes = app.router.routes  # the list Starlette walks on every request
    before = len(routes)
    for path, endpoint in (("/v1/models/{name}/forecast", forecast_with), ("/v1/forecast", forecast)):
        app.router.add_api_route(path, endpoint, methods=["POST"], route_class_override=DirectRoute, **FORECAST)
    routes[:] = routes[before:] + routes[:before]


@router.get("/v1/models", response_model=list[ModelSummary])
async def list_models(request: Request) -> list[ModelSummary]:
    """Every served model: its version and shape, whether it has intervals, what a request must give."""
    models = served_models(request)
    return [
        ModelSummary.of(
            holder.name,
            holder.predictor.card if holder.predictor else None,
            holder.problem,
            holder.name == models.default,
        )
        for holder in models.holders.values()
    ]


@router.get("/v1/models/{name}", response_model=ModelCard, responses=ERRORS)
async def model_card(model: NamedModel) -> ModelCard:
    """The card (model.json) of the version model `name` serves now."""
    return model.predictor.card


@router.get("/v1/model", response_model=ModelCard, responses=ERRORS)
async def default_model_card(model: DefaultModel) -> ModelCard:
    """The card of the default model's served version."""
    return model.predictor.card


@router.get("/healthz")
async def healthz() -> dict:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Problem}})
async def readyz(request: Request) -> Readiness:
    """Every served model is loaded and answers a probe forecast; 503 names those that do not."""
    models = served_models(request)
    problems, ready = [], []
    for holder in models.holders.values():
        predictor = holder.predictor
        if predictor is None:
            problems.append(f"model '{holder.name}' is not loaded: {holder.problem}")
            continue
        if predictor.name != holder.name:  # the load check refuses such a card; an older build served one
            problems.append(f"model '{holder.name}' serves a version of model '{predictor.name}' ({predictor.version})")
            continue
        try:
            predictor.probe()
        except Exception as exc:  # any failure means not ready, never a 500
            problems.append(f"model '{holder.name}' version {predictor.version} does not answer: {exc}")
            continue
        ready.append(ModelRef(name=predictor.name, version=predictor.version))
    default = next((ref for ref in ready if ref.name == models.default), None)
    if default is None:
        problems.append(f"the default model '{models.default}' is not ready")
    if problems:
        raise HTTPException(503, "; ".join(problems))
    return Readiness(status="ready", model=default, models=ready)
