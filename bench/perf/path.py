"""CPU time of the request path in process: the ASGI app called directly, no sockets, no HTTP parser.

    python -m bench.perf.path [--requests 4000] [--concurrency 16] [--rounds 5] [--name general_monthly]

On a shared host, wall-clock rates swing with the neighbours; the CPU time this process
spends per request swings much less, so this is the bench that decides whether a change
to the request path (middleware, dependency injection, metrics, logging, batching) pays.
Every request is a single-series forecast of the served model (the registry's CURRENT),
sent `--concurrency` at a time through the app's full middleware stack and lifespan.
Reports the median over `--rounds` of CPU microseconds per request, and the spread.

`--goal` adds what issue 34's throughput goal needs, measured the same way in the same process, rounds
interleaved: the parse-only floor (bench/perf/servers.py `parse_app`: FastAPI + pydantic parsing of the same
body, a fixed answer, no model) and the model alone (`Predictor.run_rows` on `--concurrency` rows, the batch
the service's batcher forms at that concurrency, per row). The goal: the request's cost outside the model
(the service's per request minus the model's) at most 1.3x the parse-only floor's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import time
from pathlib import Path

from bench.common import ROOT, histories, served_card, table
from paxcast.training.backtest.series_report import machine


def scope_for(path: str, body: bytes) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def call(app, path: str, body: bytes) -> int:
    sent = False
    status = 0

    async def receive():
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope_for(path, body), receive, send)
    return status


async def measure(app, body: bytes, requests: int, concurrency: int) -> float:
    """CPU microseconds per request over `requests` sent `concurrency` at a time."""
    statuses = []
    started = time.process_time()
    for _ in range(requests // concurrency):
        statuses += await asyncio.gather(*(call(app, "/v1/forecast", body) for _ in range(concurrency)))
    cpu = time.process_time() - started
    assert set(statuses) == {200}, set(statuses)
    return cpu / len(statuses) * 1e6


def model_us(model_dir: Path, name: str, rows, rounds: int = 200) -> float:
    """CPU microseconds per row of one graph run on `rows` (concurrency, window): the model's share of a request."""
    from paxcast.service.core.registry import current_version
    from paxcast.service.inference.predictor import Predictor

    predictor = Predictor.load(Path(model_dir) / name / current_version(model_dir, name), threads=1)
    predictor.run_rows(rows)
    times = []
    for _ in range(rounds):
        began = time.thread_time()
        predictor.run_rows(rows)
        times.append(time.thread_time() - began)
    return statistics.median(times) / len(rows) * 1e6


async def goal(args) -> dict[str, list[float]]:
    """Per round, CPU µs per request of the service, of the parse-only floor, and of the model per row."""
    from bench.perf.servers import parse_app

    card = served_card(args.model_dir, args.name)
    rows = histories(card, args.concurrency, seed=1)
    floor = parse_app()
    body = json.dumps({"series": [{"id": "air", "history": rows[0].tolist()}], "horizon": min(12, card.horizon)})
    out: dict[str, list[float]] = {"service": [], "parse-only floor": [], "model": []}
    for _ in range(args.rounds):
        args_one = argparse.Namespace(**{**vars(args), "rounds": 1})
        out["service"] += await run(args_one)
        await measure(floor, body.encode(), 200, args.concurrency)  # warm-up
        out["parse-only floor"].append(await measure(floor, body.encode(), args.requests, args.concurrency))
        out["model"].append(model_us(args.model_dir, args.name, rows))
    return out


def goal_table(measured: dict[str, list[float]]) -> str:
    """The three costs and the goal's ratio: (service - model) / parse-only floor, target <= 1.3."""
    med = {k: statistics.median(v) for k, v in measured.items()}
    rows = [[k, f"{med[k]:.0f}", f"{min(v):.0f}", f"{max(v):.0f}"] for k, v in measured.items()]
    outside = med["service"] - med["model"]
    rows.append(["service outside the model", f"{outside:.0f}", "", ""])
    rows.append(["outside / parse-only floor (goal <= 1.3)", f"{outside / med['parse-only floor']:.2f}", "", ""])
    return table(["CPU us per request (median of rounds)", "median", "min", "max"], rows)


async def run(args) -> list[float]:
    from paxcast.service.api import observability
    from paxcast.service.api.app import create_app
    from paxcast.service.core.settings import Settings

    observability.lean_log_records()  # as service.api.main.app_factory does in every worker

    logging.getLogger("paxcast.access").addHandler(logging.NullHandler())  # the line is formatted, as in service
    logging.getLogger("paxcast.access").setLevel(logging.INFO)
    logging.getLogger("paxcast.access").propagate = False
    card = served_card(args.model_dir, args.name)
    series = {"id": "air", "history": histories(card, 1, seed=1)[0].tolist()}
    if card.is_global:  # calendar-aware models read their covariates from the first value's date
        series["start"] = args.start
    body = json.dumps({"series": [series], "horizon": min(12, card.horizon)}).encode()
    app = create_app(Settings(model_dir=args.model_dir, model_name=args.name, reload_interval=0))
    async with app.router.lifespan_context(app):
        await measure(app, body, 200, args.concurrency)  # warm-up
        if getattr(args, "cprofile", None) is None:
            return [await measure(app, body, args.requests, args.concurrency) for _ in range(args.rounds)]
        import cProfile

        profile = cProfile.Profile()  # the rounds run profiled: their µs include cProfile's overhead
        profile.enable()
        rounds = [await measure(app, body, args.requests, args.concurrency) for _ in range(args.rounds)]
        profile.disable()
        profile.dump_stats(args.cprofile)
        return rounds


def big_batch(model_dir: Path, name: str, rows: int, rounds: int = 3) -> list[list[object]]:
    """One `rows`-series batch through `Batcher.run` in process, per way of using two threads; ms per call."""
    from paxcast.service.core.registry import current_version
    from paxcast.service.inference.batching import Batcher
    from paxcast.service.inference.predictor import Predictor

    card = served_card(model_dir, name)
    x = histories(card, rows, seed=4)
    version_dir = Path(model_dir) / name / current_version(model_dir, name)
    ways = {  # label: (runners, onnxruntime intra-op threads)
        "PAXCAST_THREADS=1 (1 runner, 1 onnxruntime thread)": (1, 1),
        "2 runners, parallel slices, 1 thread each (not used)": (2, 1),
        "PAXCAST_THREADS=2 (1 runner, 2 onnxruntime intra-op threads)": (1, 2),
    }
    predictors = {label: Predictor.load(version_dir, threads=threads) for label, (_, threads) in ways.items()}

    async def calls(label: str) -> list[float]:
        batcher = Batcher("bench", 64, 0, runners=ways[label][0])
        await batcher.run(predictors[label], x)  # warm-up
        times = []
        for _ in range(3):
            started = time.perf_counter()
            await batcher.run(predictors[label], x)
            times.append(time.perf_counter() - started)
        await batcher.stop()
        return times

    measured: dict[str, list[float]] = {label: [] for label in ways}
    for _ in range(rounds):  # interleaved: background load hits every way alike
        for label in ways:
            measured[label] += asyncio.run(calls(label))
    return [
        [label, f"{statistics.median(t) * 1e3:.0f}", f"{min(t) * 1e3:.0f}", f"{max(t) * 1e3:.0f}"]
        for label, t in measured.items()
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--name", default="air_passengers")
    parser.add_argument("--start", default="2019-01-01", help="the posted history's start, for global models")
    parser.add_argument(
        "--big", type=int, help="instead: one batch of this many series through the batcher, per thread setup"
    )
    parser.add_argument("--goal", action="store_true", help="also the parse-only floor and the model alone")
    parser.add_argument(
        "--cprofile", type=Path, help="run the service's rounds under cProfile and write its stats here (pstats)"
    )
    args = parser.parse_args(argv)
    if args.goal:
        measured = asyncio.run(goal(args))
        print(f"machine: {machine()}; concurrency {args.concurrency}, {args.requests} requests x {args.rounds} rounds")
        print(goal_table(measured))
        return
    if args.big:
        rows = big_batch(args.model_dir, args.name, args.big)
        print(f"machine: {machine()}")
        print(table(["configuration", "median ms", "min", "max"], rows))
        return
    per_request = asyncio.run(run(args))
    print(f"machine: {machine()}")
    print(
        table(
            ["concurrency", "requests x rounds", "CPU us/request (median)", "min", "max"],
            [
                [
                    args.concurrency,
                    f"{args.requests} x {args.rounds}",
                    f"{statistics.median(per_request):.0f}",
                    f"{min(per_request):.0f}",
                    f"{max(per_request):.0f}",
                ]
            ],
        )
    )


if __name__ == "__main__":
    main()
