"""The serving choices, each measured: event loop/parser, workers, onnxruntime threads and slicing, JSON renderer.

    python -m bench.perf.tuning [--seconds 4] [--rounds 3]

Runs the real service (the same trained model as bench/perf/http.py) under each variant with
single-series requests at concurrency 16 and 64 and a 1,000-series request at concurrency 1,
driven by wrk exactly as bench/perf/http.py does; then, in process, a 10,000-series batch under
onnxruntime's threading and slicing options, and the response renderer.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT, median, same_model, table
from bench.perf.http import Server, combine, run_wrk, running, uvicorn_argv, write_bodies
from paxcast.training.backtest.series_report import machine
from tests.serving import free_port


def variants(registry: Path, port: int) -> list[tuple[str, Server]]:
    env = {
        "PAXCAST_MODEL_DIR": str(registry),
        "PAXCAST_PORT": str(port),
        "PAXCAST_HOST": "127.0.0.1",
        "PAXCAST_RELOAD_INTERVAL": "0",
    }
    serve = [sys.executable, "-m", "paxcast.service.cli.main", "serve"]
    app = "paxcast.service.api.main:app_factory"
    one, two = (
        {**env, "PAXCAST_WORKERS": "1", "PAXCAST_THREADS": "1"},
        {**env, "PAXCAST_WORKERS": "2", "PAXCAST_THREADS": "1"},
    )
    return [
        ("paxcast serve (asyncio + httptools), 1 worker", Server("a", "w1", serve, one)),
        ("paxcast serve (asyncio + httptools), 2 workers", Server("a", "w2", serve, two)),
        (
            "uvloop + httptools, 1 worker",
            Server("a", "uvloop1", uvicorn_argv(app, port, 1, loop="uvloop", http="httptools"), one),
        ),
        (
            "uvloop + httptools, 2 workers",
            Server("a", "uvloop2", uvicorn_argv(app, port, 2, loop="uvloop", http="httptools"), two),
        ),
        ("asyncio + h11, 1 worker", Server("a", "h11", uvicorn_argv(app, port, 1, loop="asyncio", http="h11"), one)),
        ("paxcast serve, 1 worker, 2 ORT threads", Server("a", "t2", serve, {**one, "PAXCAST_THREADS": "2"})),
    ]


def renderers(n_series: int, horizon: int) -> list[list[str]]:
    """Render a response of `n_series` forecasts: orjson on float32 arrays vs the stdlib via lists."""
    from starlette.responses import JSONResponse

    from paxcast.service.api.responses import JSONBytes

    mean = np.random.default_rng(0).uniform(100, 600, size=(n_series, horizon)).astype(np.float32)

    def with_orjson():
        return JSONBytes(
            {
                "model": {"name": "m", "version": "v"},
                "forecasts": [{"id": f"s{i}", "mean": mean[i]} for i in range(n_series)],
            }
        )

    def with_stdlib():
        return JSONResponse(
            {
                "model": {"name": "m", "version": "v"},
                "forecasts": [{"id": f"s{i}", "mean": mean[i].tolist()} for i in range(n_series)],
            }
        )

    rows = []
    for label, render in (
        ("orjson, float32 arrays (service)", with_orjson),
        ("stdlib json via .tolist() (FastAPI default)", with_stdlib),
    ):
        render()
        times = []
        for _ in range(30):
            started = time.perf_counter()
            body = render().body
            times.append(time.perf_counter() - started)
        rows.append([label, f"{median(times) * 1e3:.2f}", f"{len(body):,}"])
    return rows


def large_batch(onnx_path: Path, card, n: int = 10_000) -> list[list[str]]:
    """One `n`-series batch in process: one run vs slices, and what a second ORT thread does."""
    from bench.common import histories
    from paxcast.service.inference.predictor import RUN_ROWS, make_session, run_session

    x = histories(card, n, seed=4)

    def session(threads: int, spinning: bool):
        return make_session(onnx_path, threads, spinning=spinning)

    def one_run(s):
        return lambda: run_session(s, x)

    def sliced(s):
        return lambda: [run_session(s, x[i : i + RUN_ROWS]) for i in range(0, n, RUN_ROWS)]

    one, two_spin, two_sleep = session(1, False), session(2, True), session(2, False)
    cases = [
        ("1 thread, one run", one_run(one)),
        (f"1 thread, slices of {RUN_ROWS} (service)", sliced(one)),
        (f"2 threads spinning (ORT default), slices of {RUN_ROWS}", sliced(two_spin)),
        (f"2 threads, no spinning (service), slices of {RUN_ROWS}", sliced(two_sleep)),
        ("2 threads, no spinning, one run", one_run(two_sleep)),
    ]
    rows = []
    for label, call in cases:
        call()
        times = []
        for _ in range(3):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        rows.append([label, f"{median(times) * 1e3:.0f}", f"{min(times) * 1e3:.0f}"])
        print(f"  {label}: {median(times) * 1e3:.0f} ms", flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per variant, load and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all variants; the table shows medians")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "air_passengers.csv")
    args = parser.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory(prefix="paxcast-bench-") as tmp:
        tmp = Path(tmp)
        print(f"training the served design with the pipeline into {tmp} ...", flush=True)
        model = same_model(tmp / "registry", args.data)
        single, batch, _ = write_bodies(model.card, tmp)
        labels = [label for label, _ in variants(model.registry, 0)]
        loads = ((single, 16), (single, 64), (batch, 1))
        runs: dict[str, list[list[dict]]] = {label: [[] for _ in loads] for label in labels}
        for round_number in range(1, args.rounds + 1):  # interleaved, so background load hits every variant alike
            for label in labels:
                port = free_port()
                server = dict(variants(model.registry, port))[label]
                with running(server, port, tmp / "server.log") as base:
                    for k, (body, connections) in enumerate(loads):
                        run_wrk(f"{base}/v1/forecast", body, connections, 1)
                        load_avg = os.getloadavg()[0]
                        r = run_wrk(f"{base}/v1/forecast", body, connections, args.seconds)
                        r["load_avg"] = load_avg
                        runs[label][k].append(r)
                        rate = f"{r['rps']:.1f} req/s p99 {r['p99_ms']:.2f} ms"
                        print(f"  round {round_number} {label} c{connections}: {rate}", flush=True)
        for label in labels:
            cells = [label]
            for k in range(len(loads)):
                r = combine(runs[label][k])
                cells += [f"{r['rps']:.1f}", f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", str(r["errors"])]
            rows.append(cells)
        print("10,000 series in process ...", flush=True)
        batch_rows = large_batch(model.onnx_path, model.card)
    print()
    print(f"machine: {machine()}")
    print(
        f"single-series requests at concurrency 16 and 64, a 1,000-series request at concurrency 1; "
        f"{args.seconds:g} s each, median of {args.rounds} interleaved rounds"
    )
    print(
        table(
            [
                "variant",
                "c16 req/s",
                "p50 ms",
                "p99 ms",
                "errors",
                "c64 req/s",
                "p50 ms",
                "p99 ms",
                "errors",
                "1000-series req/s",
                "p50 ms",
                "p99 ms",
                "errors",
            ],
            rows,
        )
    )
    print()
    print("10,000 series in one in-process batch through onnxruntime (3 runs each):")
    print(table(["variant", "median ms", "best ms"], batch_rows))
    print()
    print("rendering one 1,000-series response (horizon 12), median of 30, in process:")
    print(table(["renderer", "ms", "bytes"], renderers(1000, 12)))


if __name__ == "__main__":
    main()
