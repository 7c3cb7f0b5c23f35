"""Issue 15 against the real service on 127.0.0.1: stalled and slow clients, clients that vanish, huge bad bodies.

Every test bounds its own time (socket timeouts, a few seconds of PAXCAST_READ_TIMEOUT) and
stops what it starts. What the server did is read from its answers, its /metrics and its access
log, each waited for until it is there; the only sleeps are the slow clients' own pace.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.request

import pytest
from live import access_lines, memory_back, requests_counted, rss_mb, scrape, serving

from tests.serving import read_everything_sent, wait_until

pytestmark = pytest.mark.e2e  # real `paxcast serve` processes


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def connect(base: str, timeout: float = 10) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port_of(base)), timeout=timeout)


def wait_until_read(base: str, sock: socket.socket, what: str) -> None:
    """Wait until the server has accepted `sock` and read everything sent on it so far."""
    client_port = sock.getsockname()[1]
    wait_until(lambda: read_everything_sent(port_of(base), client_port), 10, what)


def read_answer(sock: socket.socket) -> tuple[int, dict, bytes]:
    """Read one response until the server closes; (status, headers, body). Raises socket.timeout if it never does."""
    raw = b""
    while chunk := sock.recv(1 << 16):
        raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def head_of(length: int) -> bytes:
    return (
        f"POST /v1/forecast HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


HEAD_LATE = "request head not received within 1 s (PAXCAST_READ_TIMEOUT)"


def forecasts(lines: list[dict]) -> list[dict]:
    """The access log lines of POST /v1/forecast."""
    return [line for line in lines if line["path"] == "/v1/forecast"]


def refusals(lines: list[dict]) -> list[dict]:
    """The access log lines of requests refused before the app saw them (no complete head)."""
    return [line for line in lines if line["route"] == "unmatched"]


def test_a_head_sent_one_line_at_a_time_gets_408_at_the_read_timeout(registry, tmp_path):
    with serving(registry, tmp_path, read_timeout=1) as (_, base, out):
        with connect(base, timeout=10) as sock:
            sock.sendall(b"POST /v1/forecast HTTP/1.1\r\n")
            # Slow on purpose: a line every 0.25 s would keep a timer re-armed by each read alive for ever.
            # The head's deadline runs from its first byte, so the server closes while we are still sending.
            with pytest.raises(OSError):
                for k in range(40):
                    time.sleep(0.25)
                    sock.sendall(f"X-Slow-{k}: 1\r\n".encode())
            status, headers, body = read_answer(sock)
        samples = scrape(base)
        lines = access_lines(out, until=refusals)
    assert status == 408 and headers["connection"] == "close"
    assert json.loads(body) == {"detail": HEAD_LATE}
    assert samples[("paxcast_http_requests_total", (("method", "-"), ("route", "unmatched"), ("status", "408")))] == 1
    [refused] = refusals(lines)
    assert (refused["method"], refused["status"], refused["detail"]) == ("-", 408, HEAD_LATE)
    assert refused["request_id"] == headers["x-request-id"]  # the client and the log name the refusal alike
    assert refused["duration_ms"] >= 1000  # the server's own clock: refused at its deadline, not before


def test_a_connection_that_sends_nothing_is_closed_at_the_read_timeout(registry, tmp_path):
    with serving(registry, tmp_path, read_timeout=1) as (_, base, out):
        with connect(base, timeout=10) as sock:  # a server that held it open would time this read out
            status, _, body = read_answer(sock)
        lines = access_lines(out, until=refusals)
    assert status == 408 and json.loads(body) == {"detail": HEAD_LATE}
    [refused] = refusals(lines)
    assert (refused["status"], refused["detail"]) == (408, HEAD_LATE) and refused["duration_ms"] >= 1000


def test_a_body_trickled_one_byte_at_a_time_gets_408_at_the_read_timeout(registry, tmp_path):
    with serving(registry, tmp_path, read_timeout=1) as (_, base, out):
        with connect(base, timeout=10) as sock:
            sock.sendall(head_of(1000))
            # Slow on purpose, as above: a byte every 0.25 s, until the server closes.
            with contextlib.suppress(OSError):
                for _ in range(40):
                    sock.sendall(b" ")
                    time.sleep(0.25)
            status, headers, body = read_answer(sock)
        lines = forecasts(access_lines(out, until=forecasts))
    assert status == 408 and headers["connection"] == "close" and "x-request-id" in headers
    assert json.loads(body) == {"detail": "request body not received within 1 s (PAXCAST_READ_TIMEOUT)"}
    assert [(line["status"], line["request_id"]) for line in lines] == [(408, headers["x-request-id"])]
    assert lines[0]["duration_ms"] >= 1000  # timed by the server from the request's start


def test_a_head_over_64_kb_gets_431(registry, tmp_path):
    with serving(registry, tmp_path) as (_, base, out):
        with connect(base, timeout=6) as sock:
            with contextlib.suppress(OSError):  # the server may answer and close before the head is all sent
                sock.sendall(
                    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-ID: client-id\r\n"
                    + b"".join(b"X-Big-%d: %s\r\n" % (k, b"a" * 1000) for k in range(70))
                    + b"\r\n"
                )
            status, headers, body = read_answer(sock)
        lines = access_lines(out, until=refusals)
    assert status == 431 and headers["connection"] == "close"
    assert json.loads(body) == {"detail": "request head exceeds 65536 bytes"}
    [refused] = refusals(lines)
    # a fresh id: the client's own is not echoed from a head that was refused
    assert refused["request_id"] == headers["x-request-id"] != "client-id"


def answers_healthz(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_connections_beyond_the_cap_get_a_json_503_with_a_request_id(registry, tmp_path):
    with serving(registry, tmp_path, max_connections=3) as (_, base, _):
        idle = [connect(base) for _ in range(3)]
        try:
            for s in idle:  # the server holds all three before the fourth arrives
                wait_until_read(base, s, "the idle connection accepted")
            with connect(base) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                status, headers, body = read_answer(sock)
        finally:
            for s in idle:
                s.close()
        assert status == 503 and "x-request-id" in headers and headers["retry-after"] == "1"
        assert json.loads(body) == {
            "detail": "the service is at its limit of 3 connections (PAXCAST_MAX_CONNECTIONS); retry later"
        }
        wait_until(lambda: answers_healthz(base), 5, "serving again once the idle connections are gone")


STALLED = 12
BODY = 8_000_000


def test_stalled_uploads_are_capped_across_requests_and_memory_returns(registry, tmp_path):
    """The issue's attack: connections declaring 8 MB and sending one byte less, then waiting."""
    with serving(registry, tmp_path, read_timeout=4, max_buffered_bytes=2 * BODY + 1) as (process, base, out):
        before = rss_mb(process.pid)
        answers: list = [None] * STALLED

        def upload(k: int) -> None:
            with connect(base, timeout=15) as sock:
                with contextlib.suppress(OSError):  # refused (503) before we were done sending
                    sock.sendall(head_of(BODY) + b" " * (BODY - 1))
                answers[k] = read_answer(sock)

        threads = [threading.Thread(target=upload, args=(k,)) for k in range(STALLED)]
        for t in threads:
            t.start()
        # Two uploads fit the cap and stall until the read timeout; the server refuses the others at once.
        wait_until(lambda: requests_counted(base, "503") == STALLED - 2, 10, f"{STALLED - 2} uploads refused")
        during = rss_mb(process.pid)
        for t in threads:
            t.join(20)
        statuses = sorted(a[0] for a in answers if a is not None)
        assert statuses == [408] * 2 + [503] * (STALLED - 2), statuses
        refused = next(json.loads(a[2]) for a in answers if a is not None and a[0] == 503)
        assert refused == {
            "detail": f"request bodies in progress would hold more than {2 * BODY + 1} bytes "
            "(PAXCAST_MAX_BUFFERED_BYTES); retry later"
        }
        after = memory_back(process.pid, before)
        print(f"stalled uploads: rss {before:.0f} MB before, {during:.0f} MB during, {after:.0f} MB after")
        lines = forecasts(access_lines(out, until=lambda lines: len(forecasts(lines)) >= STALLED))
    assert sorted(line["status"] for line in lines) == statuses


def test_a_client_gone_mid_upload_is_a_499_without_a_traceback(registry, tmp_path):
    with serving(registry, tmp_path) as (_, base, out):
        for k in range(3):
            with connect(base) as sock:
                sock.sendall(head_of(100_000) + b'{"series": [')
                wait_until_read(base, sock, "the partial upload read")
            # closed: the server, waiting for the rest of the body, sees the client go
            wait_until(lambda k=k: requests_counted(base, "499") == k + 1, 10, f"{k + 1} uploads counted as 499")
        assert requests_counted(base, "500") == 0
        lines = forecasts(access_lines(out, until=lambda lines: len(forecasts(lines)) >= 3))
        log = out.read_text()
    assert "Traceback" not in log and "Exception in ASGI application" not in log
    assert [line["status"] for line in lines] == [499] * 3


def attack_while_probing(base: str, raw: bytes) -> tuple[dict, list[float]]:
    """POST `raw` in a thread while GET /healthz runs in a loop; (the attack's result, health latencies)."""
    result: dict = {}

    def attack() -> None:
        started = time.monotonic()
        request = urllib.request.Request(base + "/v1/forecast", data=raw, headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=60)
        except urllib.error.HTTPError as exc:
            result.update(status=exc.code, body=json.loads(exc.read()), seconds=time.monotonic() - started)

    thread = threading.Thread(target=attack)
    thread.start()
    latencies = []
    while thread.is_alive():
        started = time.monotonic()
        urllib.request.urlopen(base + "/healthz", timeout=10).read()
        latencies.append(time.monotonic() - started)
    thread.join()
    return result, latencies


def test_a_huge_body_of_wrong_items_leaves_healthz_fast_and_memory_where_it_was(registry, tmp_path):
    """Issue 15 item 1: 4 million wrong-type series in 8 MB, under the body limit.

    On a shared 2-core machine the scheduler alone can hold a process back 100 ms, so the
    latency bound must hold in one of three tries; a parse on the event loop (150 ms to 60 s
    for this body, docs/reliability.md) fails all three.
    """
    raw = b'{"series":[' + b",".join([b"1"] * 4_000_000) + b'],"horizon":1}'
    with serving(registry, tmp_path) as (process, base, _):
        for _ in range(20):  # warm up: the first requests allocate what every later one reuses
            urllib.request.urlopen(base + "/healthz", timeout=5).read()
        before = rss_mb(process.pid)
        worst = []
        for _ in range(3):
            result, latencies = attack_while_probing(base, raw)
            assert result["status"] == 422 and result["body"] == {"detail": "series[0]: Input should be an object"}
            worst.append(max(latencies))
            if worst[-1] < 0.1:
                break
        after = memory_back(process.pid, before)
    print(
        f"wrong items: 422 in {result['seconds']:.3f} s; "
        f"healthz worst per try {[round(w * 1000, 1) for w in worst]} ms; rss {before:.0f} -> {after:.0f} MB"
    )
    assert min(worst) < 0.1, worst
