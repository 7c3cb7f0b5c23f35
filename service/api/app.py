"""`create_app(settings)`: the FastAPI application, the models it serves and its routes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline  # serves the docs page's assets itself: no CDN needed
from sqlalchemy import Engine

from paxcast.service.api import (
    accuracy,
    actuals,
    admin,
    errors,
    metrics,
    native_heap,
    observability,
    pages,
    series_live,
)
from paxcast.service.api.live_accuracy import LiveScores
from paxcast.service.api.routes import install_forecast_routes, router
from paxcast.service.core.request import ForecastRequest
from paxcast.service.core.settings import Settings, get_settings
from paxcast.service.inference.holder import ServedModels
from paxcast.service.store.engine import open_store
from paxcast.service.store.forecast_log import ForecastLog

log = logging.getLogger("paxcast")
# Seconds the forecast log may take at shutdown to write what is queued; the rest is dropped and counted.
FLUSH_SECONDS = 5.0


async def poll_current(models: ServedModels, interval: float) -> None:
    """Check every model's CURRENT every `interval` seconds; works across replicas sharing a volume."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(models.reload_all)
        except Exception:  # a failed poll must never stop the poller; refusals are logged by the holders
            log.exception("poll of CURRENT failed")


def start_forecast_log(store: Engine | None, settings: Settings) -> ForecastLog | None:
    """The background writer of served forecasts (service/store/forecast_log.py), unless PAXCAST_LOG_FORECASTS=false."""
    if not settings.log_forecasts or store is None:
        return None
    return ForecastLog(
        store,
        settings.forecast_log_queue_rows,
        settings.store_retention_days,
        on_drop=metrics.DROPPED_ROWS.inc,
    ).start()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        native_heap.unmap_large_blocks()
        models = ServedModels(settings)
        for name, reason in models.load_all().items():  # fails start-up only when no model loads
            log.error("model %s is not served: %s", name, reason)
        app.state.models = models
        app.state.store = await asyncio.to_thread(open_store, settings.store_url()) if settings.needs_store() else None
        app.state.forecast_log = start_forecast_log(app.state.store, settings)
        app.state.live = LiveScores(app.state.store, models, settings) if app.state.store is not None else None
        if app.state.live is not None:
            app.state.live.start()
        poller = (
            asyncio.create_task(poll_current(models, settings.reload_interval))
            if settings.reload_interval > 0
            else None
        )
        yield
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        if app.state.live is not None:
            await app.state.live.stop()
        await models.stop()
        if app.state.forecast_log is not None:  # requests are drained: flush what they queued, within a bound
            await asyncio.to_thread(app.state.forecast_log.stop, FLUSH_SECONDS)
        if app.state.store is not None:
            app.state.store.dispose()
        metrics.remove_if_orphaned()  # a SIGKILLed supervisor left its workers' metrics directory
        gc.unfreeze()  # what holder.settle_heap froze is collectable again (tests start many apps in one process)

    app = FastAPIOffline(
        title="paxcast",
        version="0.1.0",
        description="Passenger-flow forecasts from an LSTM served through onnxruntime.",
        lifespan=lifespan,
        # FastAPI's native OpenTelemetry looks up three global providers on every request (seen in a
        # cProfile of bench/perf/path.py's request loop); this service exports Prometheus metrics instead.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    install_forecast_routes(app)
    errors.install(app)
    observability.install(app, settings)
    app.include_router(router)
    app.include_router(admin.router)
    app.include_router(actuals.router)
    app.include_router(accuracy.router)
    app.include_router(series_live.router)
    app.include_router(pages.router)
    install_request_schemas(app)
    return app


def install_request_schemas(app: FastAPI) -> None:
    """Publish ForecastRequest in the OpenAPI components: the route parses its body itself."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            request_schema = ForecastRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(request_schema.pop("$defs", {}))
            components["ForecastRequest"] = request_schema
        return app.openapi_schema

    app.openapi = openapi
