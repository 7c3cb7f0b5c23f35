"""Where a single-series request's CPU time goes in the real service: py-spy under wrk load.

    python -m bench.perf.profile [--seconds 10] [--connections 16] [--request air|seoul]

Starts `paxcast serve` (1 worker) on the model CURRENT names in --model-dir, drives it
with wrk at `--connections`, samples it with py-spy meanwhile, and reads its CPU time
from /proc: the table splits the measured CPU microseconds per request over the parts of
the request path, by the innermost recognised frame of each sample. `--request seoul` posts bench/peers'
Seoul request instead (all 584 stations, 56 days with `start`, levels 80/95) to the Seoul model's route.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bench.common import ROOT, histories, served_card, table
from bench.perf.http import HORIZON, run_wrk
from bench.perf.memory import server_pid
from paxcast.training.backtest.series_report import machine
from tests.serving import serve

# (part of the request, a piece of the frame text that identifies it); the innermost match wins.
PARTS = [
    ("onnxruntime session.run", "Session.run"),
    ("JSON parse + validation (pydantic)", "model_validate_json"),
    ("input checks (Predictor.batch)", "Predictor.batch"),
    ("input checks (Predictor.batch)", "Predictor.check_values"),
    ("calendar rows (Predictor.calendar_rows)", "calendar_rows"),
    ("rows to and from unit level", "unit_level.py"),
    ("intervals and timestamps (Predictor.finish)", "Predictor.finish"),
    ("intervals and timestamps (Predictor.finish)", "Predictor.timestamps"),
    ("batcher (service/inference/batching.py)", "batching.py"),
    ("response rendering (orjson)", "JSONBytes.render"),
    ("metrics (prometheus-client)", "prometheus_client"),
    ("JSON request log line", "logging/__init__"),
    ("request id, timing (service middleware)", "observability.py"),
    ("route body (service/api/routes.py)", "routes.py"),
    ("uvicorn HTTP protocol + socket I/O", "uvicorn/"),
    ("FastAPI/Starlette routing, DI, middleware", "fastapi/"),
    ("FastAPI/Starlette routing, DI, middleware", "starlette/"),
    ("event loop", "asyncio/"),
]


def classify(stack: str) -> str:
    for frame in reversed(stack.split(";")):
        for part, marker in PARTS:
            if marker in frame:
                return part
    return "other"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--name", default="air_passengers")
    parser.add_argument("--raw", type=Path, help="also keep py-spy's raw stacks (one line per stack) here")
    parser.add_argument("--request", choices=("air", "seoul"), default="air", help="seoul: 584 stations, 56 days")
    args = parser.parse_args(argv)
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        raise SystemExit(
            "bench/perf/profile.py: py-spy not found next to this Python; `make install` adds it (bench extra)"
        )

    card = served_card(args.model_dir, args.name)
    with tempfile.TemporaryDirectory(prefix="paxcast-bench-") as tmp:
        tmp = Path(tmp)
        body = tmp / "request.json"
        name, route = args.name, "/v1/forecast"
        if args.request == "seoul":
            from bench.perf.station_batch import request_body

            name, route = "seoul_subway_daily", "/v1/models/seoul_subway_daily/forecast"
            body.write_bytes(request_body(args.model_dir, name, 56)[0])
        else:
            series = [{"id": "air", "history": histories(card, 1, seed=1)[0].tolist()}]
            body.write_text(json.dumps({"series": series, "horizon": HORIZON}))
        with serve(args.model_dir, tmp / "server.log", workers=1, model_name=name) as server:
            base, pid = server.base, server_pid(server.port)
            url = base + route
            run_wrk(url, body, args.connections, 1)
            raw = tmp / "py-spy.txt"
            result: dict = {}
            load = threading.Thread(target=lambda: result.update(run_wrk(url, body, args.connections, args.seconds)))
            cpu_before = cpu_seconds(pid)
            load.start()
            subprocess.run(
                [
                    str(py_spy),
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(max(1, int(args.seconds) - 2)),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--nonblocking",
                    "--output",
                    str(raw),
                ],
                check=True,
                capture_output=True,
                timeout=args.seconds + 60,
            )
            load.join()
            cpu = cpu_seconds(pid) - cpu_before
        shares: dict[str, int] = {}
        if args.raw:  # the stacks behind a part ("other" above all) are read from here
            args.raw.write_text(raw.read_text())
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            shares[classify(stack)] = shares.get(classify(stack), 0) + int(count)

    total = sum(shares.values())
    per_request_us = cpu / result["requests"] * 1e6
    rows = [
        [part, f"{100 * n / total:.1f} %", f"{per_request_us * n / total:.0f}"]
        for part, n in sorted(shares.items(), key=lambda kv: -kv[1])
    ]
    print(f"machine: {machine()}")
    print(
        f"wrk c={args.connections} for {args.seconds:g} s: {result['rps']:.1f} req/s, "
        f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms; "
        f"server CPU {per_request_us:.0f} us per request; {total:,} py-spy samples"
    )
    print(table(["part of the request path", "share of samples", "CPU us per request"], rows))


if __name__ == "__main__":
    main()
