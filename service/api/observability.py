"""Per-request observability: request id, one JSON log line, request metrics; and `install(app)`.

`install` is the one call `create_app` makes: it adds the body-size limit and this
observer as pure ASGI middleware and mounts `GET /metrics`.
"""

from __future__ import annotations

import copy
import itertools
import logging
import os
import re
import time
import uuid

import orjson
from fastapi import FastAPI
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import LOGGING_CONFIG

from paxcast.service.api import metrics
from paxcast.service.api.limits import BodySizeLimit
from paxcast.service.core.settings import Settings

access_log = logging.getLogger("paxcast.access")

# nginx's status for "client closed the request before the answer": counted and logged, never a 500.
CLIENT_CLOSED_REQUEST = 499

# An incoming X-Request-ID is echoed only if it is a plain token; anything else gets a fresh id.
REQUEST_ID = re.compile(rb"[A-Za-z0-9._:/+=-]{1,128}")


# Fresh ids: a random per-process prefix and a counter, unique across workers and restarts
# without a uuid4 (an os.urandom system call) on every request.
ID_PREFIX = uuid.uuid4().hex[:16]
id_counter = itertools.count(1)


def fresh_request_id() -> bytes:
    return f"{ID_PREFIX}{next(id_counter):016x}".encode()


def request_id_of(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"x-request-id" and REQUEST_ID.fullmatch(value):
            return value
    return fresh_request_id()


def route_of(scope: Scope) -> str:
    """The route template (`/v1/forecast`), never the raw path: fuzzers must not explode label sets."""
    return getattr(scope.get("route"), "path", None) or "unmatched"


def answering_model(scope: Scope) -> tuple[str | None, str | None]:
    """(name, version) of the model that answered, as the route recorded it in the request state."""
    predictor = scope.get("state", {}).get("model")
    return (predictor.name, predictor.version) if predictor is not None else (None, None)


class RequestObserver:
    """Times every HTTP request, tags it with a request id and reports it to the log and the metrics."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self.on_lifespan(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id  # the forecast log records it (routes.py)
        status = 500  # what the client gets if the app raises before answering
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            # The client hung up before its body arrived: nobody to answer and nothing broken
            # here, so no traceback and no 500 to page anyone. 499 is nginx's name for it.
            status = CLIENT_CLOSED_REQUEST
        except Exception:
            if not responded:  # the 500 is sent here, not by Starlette's outer handler, so it carries the id
                await send_with_id(
                    {"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"application/json")]}
                )
                await send_with_id(
                    {
                        "type": "http.response.body",
                        "body": orjson.dumps({"detail": f"internal server error; request id {request_id.decode()}"}),
                    }
                )
            raise  # uvicorn logs the traceback: a 500 is a bug
        finally:
            seconds = time.perf_counter() - started
            route = route_of(scope)
            metrics.observe_request(scope["method"], route, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                model, version = answering_model(scope)
                line = {
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "model": model,
                    "model_version": version,
                    "request_id": request_id.decode(),
                    "pid": os.getpid(),
                }
                access_log.info(orjson.dumps(line).decode())

    def on_lifespan(self, send: Send) -> Send:
        async def send_and_watch(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                metrics.worker_stopped(os.getpid())
                # Requests are drained by now; a worker dies by its re-raised SIGTERM next, without
                # logging's shutdown, so the lines buffered_log still holds are written here.
                for handler in access_log.handlers:
                    handler.flush()
            await send(message)

        return send_and_watch


def over_capacity(max_connections: int) -> ASGIApp:
    """The 503 for a request beyond PAXCAST_MAX_CONNECTIONS (service/api/http_protocol.py), observed like any other."""

    async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
        body = orjson.dumps(
            {
                "detail": f"the service is at its limit of {max_connections} connections "
                "(PAXCAST_MAX_CONNECTIONS); retry later"
            }
        )
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)),
            (b"connection", b"close"),
            (b"retry-after", b"1"),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return RequestObserver(refuse)


def log_config(level: str) -> dict:
    """uvicorn's logging config plus ours; uvicorn applies it in every worker process.

    `paxcast.access` writes the bare JSON lines to stdout; other `paxcast` messages
    (reloads, start-up) go to stderr with their level.
    """
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["paxcast_json"] = {"format": "%(message)s"}
    config["formatters"]["paxcast_text"] = {"format": "%(levelname)s: %(name)s: %(message)s"}
    config["handlers"]["paxcast_access"] = {
        "class": "paxcast.service.api.buffered_log.BufferedStreamHandler",
        "formatter": "paxcast_json",
        "stream": "ext://sys.stdout",
    }
    config["handlers"]["paxcast"] = {
        "class": "logging.StreamHandler",
        "formatter": "paxcast_text",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["paxcast.access"] = {"handlers": ["paxcast_access"], "level": level.upper(), "propagate": False}
    config["loggers"]["paxcast"] = {"handlers": ["paxcast"], "level": level.upper(), "propagate": False}
    return config


def lean_log_records() -> None:
    """Log records without what no formatter here prints: the caller's frame, thread, process and process name.

    The logging HOWTO's "Optimization" switches. Looking them up cost a few microseconds per record,
    one record per request (docs/performance.md, section 9).
    """
    logging._srcfile = None  # no stack walk to find the caller's file and line
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def install(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        max_buffered=settings.max_buffered_bytes,
        read_timeout=settings.read_timeout,
    )
    app.add_middleware(RequestObserver)  # added last = outermost: it also sees the 413s
    app.include_router(metrics.router)
