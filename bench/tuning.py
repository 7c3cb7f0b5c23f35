"""The serving choices, each measured: event loop/parser, workers, onnxruntime threads, JSON renderer.

    python -m bench.tuning [--seconds 5]

Runs the real service (the same trained model as bench/http.py) under each variant with
single-series requests at concurrency 16 and a 1,000-series request at concurrency 1,
driven by wrk exactly as bench/http.py does, then times the response renderer in process.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT, machine, median, same_model, table
from bench.http import Server, free_port, run_wrk, running, uvicorn_argv, write_bodies


def variants(registry: Path, port: int) -> list[tuple[str, Server]]:
    env = {"PAXCAST_MODEL_DIR": str(registry), "PAXCAST_PORT": str(port), "PAXCAST_HOST": "127.0.0.1", "PAXCAST_RELOAD_INTERVAL": "0"}
    serve = [sys.executable, "-m", "training.cli", "serve"]
    asyncio_h11 = uvicorn_argv("service.main:app_factory", port, 1)
    asyncio_h11[asyncio_h11.index("uvloop")] = "asyncio"
    asyncio_h11[asyncio_h11.index("httptools")] = "h11"
    return [
        ("paxcast serve: 1 worker, 1 ORT thread, uvloop+httptools", Server("a", "default", serve, {**env, "PAXCAST_WORKERS": "1", "PAXCAST_THREADS": "1"})),
        ("same app under uvicorn with asyncio+h11", Server("a", "asyncio", asyncio_h11, {**env, "PAXCAST_THREADS": "1"})),
        ("2 workers, 1 ORT thread each", Server("a", "w2", serve, {**env, "PAXCAST_WORKERS": "2", "PAXCAST_THREADS": "1"})),
        ("1 worker, 2 ORT threads", Server("a", "t2", serve, {**env, "PAXCAST_WORKERS": "1", "PAXCAST_THREADS": "2"})),
    ]


def renderers(n_series: int, horizon: int) -> list[list[str]]:
    """Render a response of `n_series` forecasts: orjson on float32 arrays vs the stdlib via lists."""
    from starlette.responses import JSONResponse

    from service.responses import JSONBytes

    mean = np.random.default_rng(0).uniform(100, 600, size=(n_series, horizon)).astype(np.float32)

    def with_orjson():
        return JSONBytes({"model": {"name": "m", "version": "v"}, "forecasts": [{"id": f"s{i}", "mean": mean[i]} for i in range(n_series)]})

    def with_stdlib():
        return JSONResponse({"model": {"name": "m", "version": "v"}, "forecasts": [{"id": f"s{i}", "mean": mean[i].tolist()} for i in range(n_series)]})

    rows = []
    for label, render in (("orjson, float32 arrays (service)", with_orjson), ("stdlib json via .tolist() (FastAPI default)", with_stdlib)):
        render()
        times = []
        for _ in range(30):
            started = time.perf_counter()
            body = render().body
            times.append(time.perf_counter() - started)
        rows.append([label, f"{median(times) * 1e3:.2f}", f"{len(body):,}"])
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "air_passengers.csv")
    args = parser.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory(prefix="paxcast-bench-") as tmp:
        tmp = Path(tmp)
        print(f"training the served design with the pipeline into {tmp} ...", flush=True)
        model = same_model(tmp / "registry", args.data)
        single, batch = write_bodies(model.meta, tmp)
        for label, _ in variants(model.registry, 0):
            port = free_port()
            server = dict(variants(model.registry, port))[label]
            with running(server, port, tmp / "server.log") as base:
                cells = [label]
                for body, connections in ((single, 16), (batch, 1)):
                    run_wrk(f"{base}/v1/forecast", body, connections, 1)
                    r = run_wrk(f"{base}/v1/forecast", body, connections, args.seconds)
                    cells += [f"{r['rps']:.1f}", f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", str(r["errors"])]
                rows.append(cells)
                print("  " + " | ".join(cells), flush=True)
    print()
    print(f"machine: {machine()}")
    print(table(["variant", "c16 req/s", "c16 p50 ms", "c16 p99 ms", "c16 errors", "1000-series req/s", "p50 ms", "p99 ms", "errors"], rows))
    print()
    print("rendering one 1,000-series response (horizon 12), median of 30, in process:")
    print(table(["renderer", "ms", "bytes"], renderers(1000, 12)))


if __name__ == "__main__":
    main()
