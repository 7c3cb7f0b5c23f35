"""Issue 30: malformed HTTP against the real service on 127.0.0.1, over raw sockets.

A head the parser refuses, or a bad chunk in a chunked body, gets the service's JSON 400 with an
X-Request-ID, one access-log line with that id, and one count in /metrics; never uvicorn's
text/plain 400, a second response, or a traceback. One server for the whole module: each test
reads what it caused by its own request id and by the change in the counters.
"""

from __future__ import annotations

import shutil
import socket

import pytest
from live import access_lines, scrape

from tests.serving import read_everything_sent, serve, wait_until

pytestmark = pytest.mark.e2e  # a real `paxcast serve` process

HEAD = "request head is not valid HTTP/1.1: "
BODY = "request body is not valid HTTP/1.1: "
REFUSED = ("-", "unmatched")  # a head that failed to parse names no method and no route
FORECAST = ("POST", "/v1/forecast")
CLIENT_ID = b"X-Request-ID: client-id-30\r\n"  # never echoed from a head that failed to parse
CHUNKED_HEAD = (
    b"POST /v1/forecast HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    + CLIENT_ID
    + b"Transfer-Encoding: chunked\r\n\r\n"
)
GOOD = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module")
def server(tiny_registry, tmp_path_factory):
    root = tmp_path_factory.mktemp("malformed")
    shutil.copytree(tiny_registry, root / "models")
    with serve(root / "models", root / "serve.log") as running:
        yield running


def counted(server, labels: tuple[str, str], status: int) -> float:
    method, route = labels
    key = ("paxcast_http_requests_total", (("method", method), ("route", route), ("status", str(status))))
    return scrape(server.base).get(key, 0)


def responses_in(raw: bytes) -> list[tuple[int, dict, bytes]]:
    """Every complete response in `raw`, in order, as (status, lower-cased headers, body)."""
    found = []
    while b"\r\n\r\n" in raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:] if ": " in line)}
        length = int(headers.get("content-length", 0))
        if len(rest) < length:
            break
        found.append((int(lines[0].split()[1]), headers, rest[:length]))
        raw = rest[length:]
    return found


def read_until_closed(sock: socket.socket) -> bytes:
    raw = b""
    while chunk := sock.recv(1 << 16):
        raw += chunk
    return raw


def read_one_response(sock: socket.socket) -> tuple[int, dict, bytes]:
    """Read exactly one response from a connection the server keeps open."""
    raw = b""
    while not responses_in(raw):
        chunk = sock.recv(1 << 16)
        assert chunk, f"the server closed the connection after {raw!r}"
        raw += chunk
    [response] = responses_in(raw)
    return response


def line_of(server, request_id: str) -> dict:
    """The one access-log line with `request_id`, once it is written."""
    lines = access_lines(server.log, until=lambda lines: any(line.get("request_id") == request_id for line in lines))
    [line] = [line for line in lines if line.get("request_id") == request_id]
    return line


def assert_refused(server, answer, detail: str, labels: tuple[str, str]) -> None:
    """`answer` is the service's JSON 400 with `detail` and a fresh request id, logged once with that id."""
    status, headers, body = answer
    assert (status, headers["content-type"], headers["connection"]) == (400, "application/json", "close")
    assert body == b'{"detail":"%s"}' % detail.encode()
    request_id = headers["x-request-id"]
    line = line_of(server, request_id)
    assert (line["method"], line["route"], line["status"]) == (*labels, 400)


MALFORMED = [
    pytest.param(b"GARBAGE\r\n\r\n", HEAD + "Invalid method encountered", REFUSED, id="bad request line"),
    pytest.param(
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + CLIENT_ID + b"NoColonHere\r\n\r\n",
        HEAD + "Invalid header token",
        REFUSED,
        id="header without a colon",
    ),
    pytest.param(
        b"POST /v1/forecast HTTP/1.1\r\nHost: x\r\n" + CLIENT_ID + b"Content-Length: abc\r\n\r\n",
        HEAD + "Invalid character in Content-Length",
        REFUSED,
        id="Content-Length abc",
    ),
    pytest.param(
        b"POST /v1/forecast HTTP/1.1\r\nHost: x\r\n"
        + CLIENT_ID
        + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        HEAD + "Transfer-Encoding can't be present with Content-Length",
        REFUSED,
        id="Content-Length and Transfer-Encoding",
    ),
    # The head is valid, so the request is the app's: counted under its route, with the client's own id.
    pytest.param(
        CHUNKED_HEAD + b'5\r\n{"ser\r\nzz\r\n', BODY + "Invalid character in chunk size", FORECAST, id="bad chunk"
    ),
]


@pytest.mark.parametrize("raw, detail, labels", MALFORMED)
def test_malformed_http_gets_a_json_400_with_a_request_id_logged_and_counted_once(server, raw, detail, labels):
    before = counted(server, labels, 400)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw)
        answers = responses_in(read_until_closed(sock))
    assert len(answers) == 1, answers
    assert_refused(server, answers[0], detail, labels)
    request_id = answers[0][1]["x-request-id"]
    assert (request_id == "client-id-30") == (labels == FORECAST)
    assert counted(server, labels, 400) == before + 1


def test_a_bad_chunk_after_the_app_started_reading_is_one_400_not_a_499(server):
    before = {status: counted(server, FORECAST, status) for status in (400, 499, 500)}
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(CHUNKED_HEAD + b'5\r\n{"ser\r\n')
        client_port = sock.getsockname()[1]
        wait_until(lambda: read_everything_sent(server.port, client_port), 10, "the first chunk read")
        sock.sendall(b"zz\r\n")
        answers = responses_in(read_until_closed(sock))
    assert len(answers) == 1, answers
    assert_refused(server, answers[0], BODY + "Invalid character in chunk size", FORECAST)
    after = {status: counted(server, FORECAST, status) for status in (400, 499, 500)}
    assert after == {400: before[400] + 1, 499: before[499], 500: before[500]}
    output = server.output()
    assert "Traceback" not in output and "Exception in ASGI application" not in output


def test_a_malformed_request_after_a_good_one_on_the_same_connection(server):
    before = counted(server, REFUSED, 400)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(GOOD)
        status, headers, _ = read_one_response(sock)
        assert status == 200 and "connection" not in headers  # kept alive
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n")
        answers = responses_in(read_until_closed(sock))
    assert len(answers) == 1, answers
    assert_refused(server, answers[0], HEAD + "Invalid header token", REFUSED)
    assert answers[0][1]["x-request-id"] != headers["x-request-id"]
    assert counted(server, REFUSED, 400) == before + 1


def test_a_malformed_request_pipelined_behind_a_good_one_is_answered_after_it(server):
    before = counted(server, REFUSED, 400)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(GOOD + b"GARBAGE\r\n\r\n")
        answers = responses_in(read_until_closed(sock))
    assert [status for status, _, _ in answers] == [200, 400], answers
    assert answers[0][2] == b'{"status":"ok"}'
    assert_refused(server, answers[1], HEAD + "Invalid method encountered", REFUSED)
    assert counted(server, REFUSED, 400) == before + 1


def test_a_bad_chunk_after_the_answer_closes_the_connection_without_a_second_answer(server):
    before = counted(server, ("GET", "/healthz"), 400)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        status, _, _ = read_one_response(sock)  # /healthz answers without reading the body
        sock.sendall(b"zz\r\n")
        rest = read_until_closed(sock)
    assert status == 200 and rest == b""
    assert counted(server, ("GET", "/healthz"), 400) == before
