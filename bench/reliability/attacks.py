"""Issue 15's attacks against a real `paxcast serve` of the shipped model on 127.0.0.1; numbers for docs/reliability.md.

    python -m bench.reliability.attacks [--read-timeout S] [--json bench/results/attacks.json]

Each attack reports status codes, seconds, /healthz's worst latency while it ran, and the
server's resident memory before, at its peak (sampled every 20 ms) and 1 s after the
clients closed. Every attack is bounded in time and closes what it opens. To measure older
code, put its `paxcast` first on PYTHONPATH (see docs/reliability.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # stdlib only: no bench.common
WATCH_S = 20.0  # how long a stalled client is watched before we call it "held"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    def __init__(self, **settings):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PAXCAST_", "PROMETHEUS_"))}
        env.update(PAXCAST_PORT=str(self.port), PAXCAST_MODEL_DIR=str(ROOT / "models"), PAXCAST_RELOAD_INTERVAL="0")
        env.update({f"PAXCAST_{k.upper()}": str(v) for k, v in settings.items()})
        self.log = open(f"/tmp/paxcast-attacks-{self.port}.log", "w+b")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "paxcast.service.cli.main", "serve"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.base + "/readyz", timeout=2).read()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(self.output()) from None
                time.sleep(0.2)
        for _ in range(20):
            self.get("/healthz")

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.base + path, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def post(self, raw: bytes) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.base + "/v1/forecast", data=raw, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def connect(self, timeout: float = WATCH_S + 15) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def observe(server: Server, attack) -> dict:
    """Run `attack()` while sampling memory and /healthz; return its result plus what was observed."""
    pid = server.process.pid
    before = rss_mb(pid)
    peak, latencies, done = [before], [], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak.append(rss_mb(pid))
            time.sleep(0.02)

    def probe() -> None:
        while not done.is_set():
            started = time.monotonic()
            try:
                urllib.request.urlopen(server.base + "/healthz", timeout=30).read()
                latencies.append(time.monotonic() - started)
            except OSError as exc:
                latencies.append(float("inf"))
                print("healthz:", exc, file=sys.stderr)
            time.sleep(0.01)

    threads = [threading.Thread(target=sample), threading.Thread(target=probe)]
    for t in threads:
        t.start()
    started = time.monotonic()
    try:
        result = attack()
    finally:
        seconds = time.monotonic() - started
        done.set()
        for t in threads:
            t.join()
    time.sleep(1.0)
    return {
        **result,
        "seconds": round(seconds, 3),
        "healthz_max_ms": round(max(latencies, default=0) * 1000, 1),
        "healthz_probes": len(latencies),
        "rss_before_mb": round(before),
        "rss_peak_mb": round(max(peak)),
        "rss_after_mb": round(rss_mb(pid)),
    }


def read_answer(sock: socket.socket) -> bytes:
    raw = b""
    try:
        while chunk := sock.recv(1 << 16):
            raw += chunk
    except OSError:
        pass
    return raw


def status_of(raw: bytes) -> str:
    return raw.split(b" ", 2)[1].decode() if raw.startswith(b"HTTP/") else "closed" if raw == b"" else "?"


def head_of(length: int) -> bytes:
    return (
        f"POST /v1/forecast HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def statuses(values: list[str]) -> dict[str, int]:
    return {s: values.count(s) for s in sorted(set(values))}


WRONG_ITEMS = b'{"series":[' + b",".join([b"1"] * 4_000_000) + b'],"horizon":1}'  # built before any measurement


# The error comes after 8 MB of valid numbers, or after the series as 700,000 unknown fields: the
# prefix check cannot see it, so these cost a full parse (the price of a valid 8 MB body).
LATE_BAD_VALUE = b'{"series":[{"id":"a","history":[' + b",".join([b"1"] * 4_190_000) + b',"x"]}],"horizon":1}'
LATE_FIELDS = (
    b'{"series":[{"id":"a","history":['
    + b",".join([b"1"] * 20_000)
    + b']}],"horizon":1,'
    + b",".join(b'"k%d":1' % i for i in range(690_000))
    + b"}"
)


def attack_wrong_items(server: Server) -> dict:
    status, body = server.post(WRONG_ITEMS)
    return {"status": {str(status): 1}, "detail": body[:120].decode(errors="replace")}


def attack_stalled_uploads(server: Server, n: int = 40, size: int = 8_000_000) -> dict:
    answers: list[str] = []
    socks = []

    def one() -> None:
        with server.connect() as sock:
            socks.append(sock)
            started = time.monotonic()
            with contextlib.suppress(OSError):  # refused before we were done sending
                sock.sendall(head_of(size) + b" " * (size - 1))
            sock.settimeout(max(WATCH_S - (time.monotonic() - started), 0.1))
            answers.append(status_of(read_answer(sock)))

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WATCH_S + 30)
    return {"status": statuses([a if a != "closed" else f"held {WATCH_S:g}s" for a in answers])}


def attack_trickle(server: Server, head: bool) -> dict:
    """One line of the head (or one byte of the body) every 0.5 s, for at most WATCH_S seconds."""
    started = time.monotonic()
    with server.connect(timeout=5) as sock:
        raw = b""
        if not head:
            sock.sendall(head_of(1000))
        sock.sendall(b"POST /v1/forecast HTTP/1.1\r\n" if head else b" ")
        k = 0
        while time.monotonic() - started < WATCH_S:
            time.sleep(0.5)
            try:
                if select.select([sock], [], [], 0)[0]:
                    raw += read_answer(sock)
                    break
                sock.sendall(f"X-Slow-{k}: 1\r\n".encode() if head else b" ")
                k += 1
            except OSError:
                raw += read_answer(sock)
                break
    answered = time.monotonic() - started
    return {"status": {status_of(raw) if raw else f"held {WATCH_S:g}s": 1}, "answered_after_s": round(answered, 1)}


def attack_silence(server: Server) -> dict:
    started = time.monotonic()
    with server.connect(timeout=WATCH_S) as sock:
        raw = read_answer(sock)
    return {
        "status": {status_of(raw) if raw else f"held {WATCH_S:g}s": 1},
        "answered_after_s": round(time.monotonic() - started, 1),
    }


def attack_disconnects(server: Server, n: int = 40) -> dict:
    before = server.get("/metrics")[1].decode()
    for _ in range(n):
        with server.connect() as sock:
            sock.sendall(head_of(100_000) + b'{"series": [')
            time.sleep(0.02)
    time.sleep(1.0)
    after = server.get("/metrics")[1].decode()

    def count(text: str, status: str) -> float:
        prefix = f'paxcast_http_requests_total{{method="POST",route="/v1/forecast",status="{status}"}} '
        return sum(float(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix))

    log = server.output()
    return {
        "status": {
            "499": count(after, "499") - count(before, "499"),
            "500": count(after, "500") - count(before, "500"),
        },
        "tracebacks_in_log": log.count("Traceback"),
    }


def simple(server: Server, raw: bytes) -> dict:
    status, body = server.post(raw)
    return {"status": {str(status): 1}, "detail": body[:160].decode(errors="replace")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--read-timeout", type=float, help="PAXCAST_READ_TIMEOUT for the server (default: its own)")
    parser.add_argument("--json", default="bench/results/attacks.json")
    parser.add_argument("--only", help="comma-separated attack names")
    args = parser.parse_args()
    settings = {"read_timeout": args.read_timeout} if args.read_timeout else {}
    history = list(range(100, 136))
    nested = b"[" * 1000 + b"]" * 1000
    attacks = {
        "wrong-type-items-8MB": attack_wrong_items,
        "nested-1000": lambda s: simple(s, nested),
        "late-bad-value-8MB": lambda s: simple(s, LATE_BAD_VALUE),
        "late-unknown-fields-8MB": lambda s: simple(s, LATE_FIELDS),
        "start-9997-horizon-36": lambda s: simple(
            s,
            json.dumps({"series": [{"id": "air", "history": history, "start": "9997-01-01"}], "horizon": 36}).encode(),
        ),
        "levels-50-and-50.0000001": lambda s: simple(
            s,
            json.dumps(
                {
                    "series": [{"id": "air", "history": history}],
                    "horizon": 1,
                    "level": [50, 50.0000001, 99.99999999999999],
                }
            ).encode(),
        ),
        "horizon-true": lambda s: simple(
            s, json.dumps({"series": [{"id": "air", "history": history}], "horizon": True}).encode()
        ),
        "horizon-string-12": lambda s: simple(
            s, json.dumps({"series": [{"id": "air", "history": history}], "horizon": "12"}).encode()
        ),
        "start-0": lambda s: simple(
            s, json.dumps({"series": [{"id": "air", "history": history, "start": 0}], "horizon": 1}).encode()
        ),
        "40-stalled-8MB-uploads": attack_stalled_uploads,
        "head-line-every-0.5s": lambda s: attack_trickle(s, head=True),
        "body-byte-every-0.5s": lambda s: attack_trickle(s, head=False),
        "connect-and-say-nothing": attack_silence,
        "40-disconnects-mid-upload": attack_disconnects,
    }
    chosen = args.only.split(",") if args.only else list(attacks)
    load = os.getloadavg()
    results = {"uptime_load": [round(x, 2) for x in load], "cores": os.cpu_count(), "settings": settings, "attacks": {}}
    for name in chosen:
        server = Server(**settings)  # a fresh process per attack: memory before/after is that attack's alone
        try:
            results["attacks"][name] = observe(server, lambda name=name, server=server: attacks[name](server))
        finally:
            server.stop()
        print(name, json.dumps(results["attacks"][name]), flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
