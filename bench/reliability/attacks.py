"""Issue 15's and issue 30's attacks against a real `paxcast serve` (and the `paxcast` CLI) on 127.0.0.1.

    python -m bench.reliability.attacks [--list] [--only NAME[,NAME]] [--json bench/results/attacks.json]
        [--duration 20] [--memory-wait 60] [--read-timeout S] [--cli-module paxcast.service.cli.main]

Each case starts its own server (or CLI child) and reports what was answered (status codes, content
type, X-Request-ID), /healthz's p50/p99/worst latency while it ran, and the server's resident memory
before, at its peak (sampled every 20 ms) and 1 s after; CLI cases report the child's exit code,
output lines and peak RSS. Every case is bounded in time and count and closes what it opens. The JSON
goes to --json, a markdown table to stdout.

To measure older code, put its `paxcast` first on PYTHONPATH and name its CLI module (cb7ea76:
`--cli-module paxcast.training.cli`) and its registry (`--model-dir`); see docs/reliability.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import socket
import threading
import time
from pathlib import Path

from bench.reliability import cli_cases, process_cases, registry_cases, serving_cases
from bench.reliability.harness import WATCH_S, Options, Server, observe


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


def issue_15_cases() -> dict:
    """Issue 15's attacks as they were: each gets a server; /healthz probed on a fresh connection every 10 ms."""
    history = list(range(100, 136))
    nested = b"[" * 1000 + b"]" * 1000

    def request(**fields) -> bytes:
        return json.dumps({"series": [{"id": "air", "history": history}], "horizon": 1} | fields).encode()

    attacks = {
        "wrong-type-items-8MB": attack_wrong_items,
        "nested-1000": lambda s: simple(s, nested),
        "late-bad-value-8MB": lambda s: simple(s, LATE_BAD_VALUE),
        "late-unknown-fields-8MB": lambda s: simple(s, LATE_FIELDS),
        "start-9997-horizon-36": lambda s: simple(
            s, request(series=[{"id": "air", "history": history, "start": "9997-01-01"}], horizon=36)
        ),
        "levels-50-and-50.0000001": lambda s: simple(s, request(level=[50, 50.0000001, 99.99999999999999])),
        "horizon-true": lambda s: simple(s, request(horizon=True)),
        "horizon-string-12": lambda s: simple(s, request(horizon="12")),
        "start-0": lambda s: simple(s, request(series=[{"id": "air", "history": history, "start": 0}])),
        "40-stalled-8MB-uploads": attack_stalled_uploads,
        "head-line-every-0.5s": lambda s: attack_trickle(s, head=True),
        "body-byte-every-0.5s": lambda s: attack_trickle(s, head=False),
        "connect-and-say-nothing": attack_silence,
        "40-disconnects-mid-upload": attack_disconnects,
    }

    def with_server(attack):
        def run(options: Options) -> dict:
            server = Server(options)  # a fresh process per attack: memory before/after is that attack's alone
            try:
                return observe(server, lambda: attack(server))
            finally:
                server.stop()

        return run

    return {name: with_server(attack) for name, attack in attacks.items()}


def all_cases() -> dict:
    return {
        **issue_15_cases(),
        **serving_cases.CASES,
        **registry_cases.CASES,
        **process_cases.CASES,
        **cli_cases.CASES,
    }


SHOWN = ("status", "healthz_p99_ms", "healthz_max_ms", "rss_before_mb", "rss_peak_mb", "rss_after_mb")


def table(rows: dict[str, dict]) -> str:
    """One markdown line per case: status, /healthz p99/max, RSS before -> peak -> after, then the case's own facts."""
    lines = [
        "| case | answered | /healthz p99 / max ms | RSS MB before → peak → after | more |",
        "|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        rss = "→".join(str(row.get(k, "")) for k in ("rss_before_mb", "rss_peak_mb", "rss_after_mb"))
        healthz = f"{row.get('healthz_p99_ms', '')} / {row.get('healthz_max_ms', '')}"
        more = {k: v for k, v in row.items() if k not in SHOWN and not isinstance(v, dict | list)}
        text = json.dumps(more, ensure_ascii=True)[1:-1].replace("|", "/")
        lines.append(f"| {name} | {json.dumps(row.get('status'))} | {healthz} | {rss} | {text[:400]} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print the case names and exit")
    parser.add_argument("--only", help="comma-separated case names")
    parser.add_argument("--json", default="bench/results/attacks.json")
    parser.add_argument("--read-timeout", type=float, help="PAXCAST_READ_TIMEOUT for the server (default: its own)")
    parser.add_argument("--cli-module", default=Options.cli_module, help="module run as `paxcast` (serve and CLI)")
    parser.add_argument(
        "--model-dir", type=Path, default=Options.model_dir, help="registry served (copied, never edited)"
    )
    parser.add_argument("--data-dir", type=Path, default=Options.data_dir)
    parser.add_argument("--duration", type=float, default=Options.duration, help="seconds of each load (default 20)")
    parser.add_argument("--memory-wait", type=float, default=Options.memory_wait, help="the memory case's last RSS, s")
    parser.add_argument("--cli-timeout", type=float, default=Options.cli_timeout, help="a CLI child is killed after")
    parser.add_argument("--cli-rss-cap-mb", type=float, default=Options.cli_rss_cap_mb, help="... or past this RSS")
    args = parser.parse_args()
    cases = all_cases()
    if args.list:
        print("\n".join(cases))
        return
    chosen = args.only.split(",") if args.only else list(cases)
    unknown = [name for name in chosen if name not in cases]
    if unknown:
        parser.error(f"--only: unknown case(s) {', '.join(unknown)}; --list names them")
    options = Options(
        cli_module=args.cli_module,
        model_dir=args.model_dir.resolve(),
        data_dir=args.data_dir.resolve(),
        read_timeout=args.read_timeout,
        duration=args.duration,
        memory_wait=args.memory_wait,
        cli_timeout=args.cli_timeout,
        cli_rss_cap_mb=args.cli_rss_cap_mb,
    )
    results = {
        "uptime_load": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
        "options": {k: str(v) for k, v in vars(args).items() if k not in ("list", "only", "json")},
        "attacks": {},
    }
    for name in chosen:
        load = [round(x, 2) for x in os.getloadavg()]
        try:
            row = cases[name](options)
        except Exception as exc:  # one broken case must not lose the others' numbers
            row = {"status": {"harness error": 1}, "error": f"{type(exc).__name__}: {exc}"[:500]}
        results["attacks"][name] = {**row, "uptime_load": load}
        print(name, json.dumps(results["attacks"][name]), flush=True)
    results["uptime_load_after"] = [round(x, 2) for x in os.getloadavg()]
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    print()
    print(table(results["attacks"]))


if __name__ == "__main__":
    main()
