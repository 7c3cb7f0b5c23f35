"""One request for every station of a network: latency of the whole-network forecast, over HTTP and in process.

    python -m bench.perf.station_batch [--model-dir models] [--name seoul_subway_daily] [--history 56] [--requests 30]

A real `paxcast serve` (tests.serving) answers POST /v1/models/<name>/forecast with every series of the
model's training file (its last `--history` values, with `start`, levels 80 and 95), `--requests` times
in a row; the table gives the client-side p50/p99 and, in process, where the time goes (parse, the
request checks and calendar rows, onnxruntime, intervals and rendering).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from bench.common import table
from paxcast.service.core.contract import read_card
from paxcast.service.core.registry import current_version
from paxcast.training.backtest.series_report import machine
from paxcast.training.data import read_series
from tests.serving import ROOT, serve


def request_body(model_dir: Path, name: str, history: int) -> tuple[bytes, int]:
    """Every series of the model's data file whose last `history` values are complete, as one forecast request."""
    card = read_card(model_dir / name / current_version(model_dir, name), verify_hash=False)
    (path,) = (ROOT / "data").rglob(card.data_file)
    from paxcast.service.core.covariates import timestamps

    series = []
    for s in read_series(path):
        tail = s.y[-history:]
        if len(tail) == history and np.isfinite(tail).all():
            first = timestamps(s.start, s.freq, len(s.y) - history + 1)[-1]
            start = str(first)[:10] if card.freq != "h" else str(first)[:16]
            series.append({"id": s.id, "history": tail.tolist(), "start": start})
    body = {"series": series, "horizon": card.horizon, "level": [80, 95]}
    return json.dumps(body).encode(), len(series)


def over_http(model_dir: Path, name: str, body: bytes, requests: int) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as tmp, serve(model_dir, Path(tmp) / "server.log", model_name=name) as server:
        url = f"{server.base}/v1/models/{name}/forecast"
        for k in range(requests + 2):
            request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()
                assert response.status == 200
            if k >= 2:  # two warm-up requests
                times.append(time.perf_counter() - started)
    return times


def in_process(model_dir: Path, name: str, body: bytes, rounds: int = 10) -> dict[str, float]:
    """Median ms per stage: the same calls the route makes, timed one by one."""
    from paxcast.service.api.responses import forecast_response
    from paxcast.service.core.request import ForecastRequest
    from paxcast.service.inference.predictor import Predictor

    predictor = Predictor.load(model_dir / name / current_version(model_dir, name))
    stages: dict[str, list[float]] = {"parse": [], "checks + calendar": [], "onnxruntime": [], "finish + render": []}
    for _ in range(rounds):
        t0 = time.perf_counter()
        request = ForecastRequest.model_validate_json(body)
        t1 = time.perf_counter()
        prepared = predictor.prepare(request)
        t2 = time.perf_counter()
        rows = predictor.run_rows(prepared.x, prepared.calendar)
        t3 = time.perf_counter()
        forecast_response(predictor.finish(prepared, rows))
        t4 = time.perf_counter()
        for stage, took in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            stages[stage].append(took * 1e3)
    return {stage: statistics.median(v) for stage, v in stages.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.perf.station_batch")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--name", default="seoul_subway_daily")
    parser.add_argument("--history", type=int, default=56, help="values posted per series (default: 56)")
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args(argv)
    body, n = request_body(args.model_dir, args.name, args.history)
    times = sorted(over_http(args.model_dir, args.name, body, args.requests))
    p99 = times[min(len(times) - 1, int(np.ceil(0.99 * len(times))) - 1)]
    print(f"machine: {machine()}")
    print(f"{args.name}: {n} series x {args.history} values in one request ({len(body) / 1e6:.2f} MB), levels 80/95")
    print(
        table(
            ["over HTTP (one client)", "p50 ms", "p99 ms", "requests"],
            [["whole network", f"{statistics.median(times) * 1e3:.0f}", f"{p99 * 1e3:.0f}", len(times)]],
        )
    )
    stages = in_process(args.model_dir, args.name, body)
    print(table(["in process, median ms", *stages], [["", *(f"{v:.1f}" for v in stages.values())]]))


if __name__ == "__main__":
    main()
