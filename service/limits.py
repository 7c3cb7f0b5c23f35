"""The request limits: bodies above PAXCAST_MAX_BODY_BYTES (413 before they are read whole), and
the series and history counts of a parsed forecast request (PAXCAST_MAX_SERIES, PAXCAST_MAX_HISTORY).

The app's first read of a body whose Content-Length declares more than the limit is
refused before a byte is taken in; a body without one (chunked) is counted as it
streams in and refused at the chunk that crosses the limit. No request can make the
service buffer more than the limit, and the refusal leaves as the usual JSON `detail`
from the route's exception handler. Routes that never read a body are not affected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from paxcast.service.schemas import ForecastRequest
    from paxcast.service.settings import Settings


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int, declared: int | None = None):
        size = f"of {declared} bytes " if declared is not None else ""
        # The client may still be sending the rest: close the connection after the answer.
        super().__init__(413, f"request body {size}exceeds the limit of {limit} bytes (PAXCAST_MAX_BODY_BYTES)", headers={"connection": "close"})


def declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP parser refuses these; counting still applies
    return None


class BodySizeLimit:
    """Pure ASGI middleware: it wraps `receive` only (no per-request task or body copy)."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            if declared is not None and declared > self.max_bytes:
                raise BodyTooLarge(self.max_bytes, declared)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, receive_within_limit, send)


def check_request_limits(body: ForecastRequest, settings: Settings) -> None:
    """413 naming the setting when a parsed request has more series, or longer histories, than allowed."""
    if len(body.series) > settings.max_series:
        raise HTTPException(413, f"request has {len(body.series)} series; the limit is {settings.max_series} (PAXCAST_MAX_SERIES)")
    for s in body.series:
        if len(s.history) > settings.max_history:
            raise HTTPException(413, f"series '{s.id}': history has {len(s.history)} values; " f"the limit is {settings.max_history} (PAXCAST_MAX_HISTORY)")
