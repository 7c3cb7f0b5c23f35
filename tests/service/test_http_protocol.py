"""The service's HTTP protocol sets TCP_NODELAY, which the stdlib loop skips for uvicorn's worker sockets."""

from __future__ import annotations

import asyncio
import socket

from uvicorn.config import Config
from uvicorn.server import ServerState

from paxcast.service.api.http_protocol import HttpToolsNoDelay, parser_problem


async def app(scope, receive, send):  # pragma: no cover - never called
    pass


def test_new_connections_get_tcp_nodelay():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # protocol number 0, as uvicorn binds it
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    served, _ = listener.accept()

    class Transport(asyncio.Transport):
        def get_extra_info(self, name, default=None):
            return {"socket": served, "peername": ("127.0.0.1", 1), "sockname": ("127.0.0.1", 2)}.get(name, default)

        def is_closing(self):
            return False

    loop = asyncio.new_event_loop()
    try:
        protocol = HttpToolsNoDelay(
            config=Config(app=app, http="httptools"), server_state=ServerState(), app_state={}, _loop=loop
        )
        assert served.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        protocol.connection_made(Transport())
        assert served.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        loop.close()
        for s in (client, served, listener):
            s.close()


def test_a_parser_message_is_printable_and_bounded_in_a_detail():
    assert parser_problem("head", "Invalid header token") == "request head is not valid HTTP/1.1: Invalid header token"
    detail = parser_problem("body", "bad\x00\r\nX-Injected: 1\x7f\u00e9" + "a" * 1000)
    assert detail.startswith("request body is not valid HTTP/1.1: bad???X-Injected: 1??a")
    assert detail.isprintable() and detail.isascii() and len(detail) <= 240
