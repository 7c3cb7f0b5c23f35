"""uvicorn's httptools protocol, plus TCP_NODELAY, a deadline and a size cap for request heads, and a connection cap.

TCP_NODELAY: with several workers, uvicorn binds the listening socket itself with protocol
number 0, and the standard-library event loop only sets TCP_NODELAY on sockets whose protocol
is IPPROTO_TCP. Nagle's algorithm then holds back the body that follows the response head
until the client's delayed ACK: ~40 ms per request (measured: 23 req/s at concurrency 1).

What uvicorn's httptools protocol lacks (issue 15): it has no header timeout (a client
sending one header line every 0.5 s was held open for ever, and a connection that sends
nothing waits until it closes), no limit on the size of a request head (h11's
`h11_max_incomplete_event_size` does not apply to httptools), and its `limit_concurrency`
answers a text/plain 503 without the request id. Here:

- the head of every request (and the first bytes of a new connection) must arrive within
  PAXCAST_READ_TIMEOUT seconds, else a 408 and the connection is closed; the body's own
  deadline is in service/api/limits.py, where the app reads it;
- a head larger than MAX_HEAD_BYTES is answered 431 and the connection closed; both
  refusals are counted (method "-", route "unmatched") and logged like the app's answers,
  each with a fresh X-Request-ID (never the client's: the head was not read whole);
- beyond PAXCAST_MAX_CONNECTIONS open connections (or as many requests in progress), a
  request gets the app's JSON 503 (service/api/observability.py `over_capacity`).

Malformed HTTP (issue 30) used to get uvicorn's text/plain 400, uncounted and unlogged. Now:

- a head the parser refuses (a bad request line, a header without a colon, `Content-Length: abc`,
  both Content-Length and Transfer-Encoding) is refused here like a 408/431: a JSON 400 quoting the
  parser's reason, with a fresh request id (never the client's: its head did not parse), logged and
  counted. Behind a request still being answered on the same connection, it waits for that answer;
- a body the parser refuses (a bad chunk) belongs to a request the app already has: the app's next
  read of it raises `MalformedBody`, so the app answers the one 400 (its request id, log line and
  count, under the request's route). If the app has answered already, the connection is closed.
Every refusal made here carries an X-Request-ID and is logged with it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import time

import httptools
import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from paxcast.service.api import metrics
from paxcast.service.api.observability import fresh_request_id, over_capacity
from paxcast.service.core.settings import get_settings

access_log = logging.getLogger("paxcast.access")

# Request line plus headers; nginx's default large_client_header_buffers allows 4 x 8 KB.
MAX_HEAD_BYTES = 64 * 1024


# The parser's reason, as quoted in a detail: printable ASCII and bounded, so that no byte of the
# request can reach a response or a log line through it (llhttp's reasons are fixed strings today).
UNPRINTABLE = re.compile(r"[^\x20-\x7e]")
MAX_REASON = 200

# Scope key: the parser refused this request's body; the value is the detail (set by the protocol).
BODY_PROBLEM = "paxcast.body_problem"


def parser_problem(part: str, reason: str) -> str:
    """The detail for a request whose `part` ("head" or "body") the HTTP parser refused for `reason`."""
    return f"request {part} is not valid HTTP/1.1: {UNPRINTABLE.sub('?', reason)[:MAX_REASON]}"


def refusal(status: int, detail: str, request_id: bytes) -> bytes:
    """A complete HTTP/1.1 response that closes the connection, with the service's JSON detail."""
    body = orjson.dumps({"detail": detail})
    head = b"content-type: application/json\r\ncontent-length: %d\r\nx-request-id: %s\r\nconnection: close\r\n\r\n"
    return STATUS_LINE[status] + head % (len(body), request_id) + body


class MalformedBody(HTTPException):
    """Raised by the app's read of a body the parser refused: the route's handler answers it (service/api/errors.py)."""

    def __init__(self, detail: str):
        super().__init__(400, detail, headers={"connection": "close"})


def refusing_malformed_bodies(app: ASGIApp) -> ASGIApp:
    """`app`, whose reads of a request body raise MalformedBody once the protocol marks the body refused.

    Only until the app has started its answer: after that a read is its wait for a disconnect, and
    the protocol closes the connection once the answer is out.
    """

    async def call(scope: Scope, receive: Receive, send: Send) -> None:
        answered = False

        async def send_noting_the_answer(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        async def receive_or_refuse() -> Message:
            if BODY_PROBLEM in scope and not answered:
                raise MalformedBody(scope[BODY_PROBLEM])
            message = await receive()
            if BODY_PROBLEM in scope and not answered:  # refused while this read was waiting
                raise MalformedBody(scope[BODY_PROBLEM])
            return message

        await app(scope, receive_or_refuse, send_noting_the_answer)

    return call


class HttpToolsNoDelay(HttpToolsProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.read_timeout = settings.read_timeout
        self.max_connections = settings.max_connections
        self.head_timer: asyncio.TimerHandle | None = None
        self.head_bytes = 0
        self.head_started = time.perf_counter()
        self.app = refusing_malformed_bodies(self.app)
        self.in_body = False  # the current request's head is complete: a parser error is in its body
        self.parser_failed = False  # llhttp stops at its first error: nothing after it can be read
        self.refusal_due: str | None = None  # a malformed head's detail, answered once the answers before it are out

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        self.arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm_head_timer()
        super().connection_lost(exc)

    def arm_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_started = time.perf_counter()
            self.head_timer = self.loop.call_later(self.read_timeout, self.on_head_timeout)

    def disarm_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def on_head_timeout(self) -> None:
        self.head_timer = None
        self.refuse(408, f"request head not received within {self.read_timeout:g} s (PAXCAST_READ_TIMEOUT)")

    def refuse(self, status: int, detail: str) -> None:
        """Answer a request the app never saw, and count and log it like the app's own (method "-": no head)."""
        if self.transport.is_closing():
            return
        request_id = fresh_request_id()
        self.transport.write(refusal(status, detail, request_id))
        self.transport.close()
        seconds = time.perf_counter() - self.head_started
        metrics.observe_request("-", "unmatched", status, seconds)
        if access_log.isEnabledFor(logging.INFO):
            line = {
                "method": "-",
                "path": None,
                "route": "unmatched",
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "detail": detail,
                "request_id": request_id.decode(),
                "pid": os.getpid(),
            }
            access_log.info(orjson.dumps(line).decode())

    # Parser callbacks: the head is timed from its first byte and its size counted as it is parsed.
    def on_message_begin(self) -> None:
        self.head_bytes = 0
        self.in_body = False
        self.arm_head_timer()
        super().on_message_begin()

    def on_message_complete(self) -> None:
        self.in_body = False
        super().on_message_complete()

    def on_url(self, url: bytes) -> None:
        self.head_bytes += len(url)
        if self.head_bytes <= MAX_HEAD_BYTES:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_bytes += len(name) + len(value) + 4
        if self.head_bytes <= MAX_HEAD_BYTES:
            super().on_header(name, value)

    def data_received(self, data: bytes) -> None:
        # uvicorn's, except for the parser's errors: it answers them itself, in text/plain, without the reason.
        if self.parser_failed:
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.parser_failed = True
            self.on_parser_error(str(exc))
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        if self.head_bytes > MAX_HEAD_BYTES and self.head_timer is not None:  # still in a head that is too big
            self.disarm_head_timer()
            self.refuse(431, f"request head exceeds {MAX_HEAD_BYTES} bytes")

    def on_parser_error(self, reason: str) -> None:
        """Refuse what the parser could not read: a head here, a body through the app that has its request."""
        self.disarm_head_timer()
        if self.transport.is_closing():  # refused already (431), or the connection is going
            return
        cycle = self.cycle
        if self.in_body:
            cycle.keep_alive = False  # the rest of the connection cannot be read
            if cycle.response_complete:  # answered before the bad bytes came: no second answer
                self.transport.close()
            elif not cycle.response_started:
                cycle.scope[BODY_PROBLEM] = parser_problem("body", reason)  # type: ignore[literal-required]
                cycle.message_event.set()  # wakes a read waiting for more of the body
            return
        detail = parser_problem("head", reason)
        if cycle is not None and not cycle.response_complete:
            # Pipelined behind a request still being answered: its answer goes first, then this one.
            self.refusal_due = detail
            self.flow.pause_reading()
        else:
            self.refuse(400, detail)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.refusal_due is not None and self.cycle.response_complete:  # the last answer before it is out
            self._unset_keepalive_if_required()
            self.refuse(400, self.refusal_due)

    def on_headers_complete(self) -> None:
        self.disarm_head_timer()
        self.in_body = True
        if self.head_bytes > MAX_HEAD_BYTES:
            self.refuse(431, f"request head exceeds {MAX_HEAD_BYTES} bytes")
            return
        if len(self.connections) > self.max_connections or len(self.tasks) >= self.max_connections:
            app, self.app = self.app, over_capacity(self.max_connections)
            try:
                super().on_headers_complete()
            finally:
                self.app = app
            return
        super().on_headers_complete()
