"""paxcast and its peers side by side: the same model, the same requests, the same wrk load, one table.

    python -m bench.peers [--seconds 10] [--warmup 2] [--rounds 2] [--workers 1,2] [--connections 1,16,64]
                          [--servers paxcast,ray,bentoml,litserve] [--requests air,seoul] [--json FILE]

Run it in the peers virtualenv (`make bench-peers` makes .venv-peers and runs this). For each workers
setting, round and request, every server is started alone on a free 127.0.0.1 port, serving only that
request's model; its answer is checked against paxcast's own (Predictor.forecast + the route's renderer,
in this process: the same numbers to float32); then wrk (one thread, bench/perf/post.lua) drives it at
each concurrency for `--warmup` seconds unmeasured and `--seconds` measured, while the server's process
tree's CPU time is read before and after (measure.py). The servers' order reverses from one round to the
next; the table gives medians over rounds. A server that answers differently is reported and not measured.

The requests: `air` is one airline series (the model's window of real values, horizon 12); `seoul` is all
584 stations of the Seoul subway model with `start` and levels 80/95 (bench/perf/station_batch.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from bench.common import ROOT, histories, package_versions, served_card, table
from bench.peers.forecasting import MODEL_DIR_VARIABLE, MODEL_NAME_VARIABLE, forecast_path
from bench.peers.measure import cpu_seconds, differences, identity, leftovers, process_tree, pss_mib, wait_until_idle
from bench.perf.http import run_wrk
from paxcast.training.backtest.series_report import machine
from tests import serving

SERVERS = ("paxcast", "ray", "bentoml", "litserve")
MODELS = {"air": "air_passengers", "seoul": "seoul_subway_daily"}
AIR_HORIZON = 12  # a year of monthly values, as bench/perf/http.py asks
SEOUL_HISTORY = 56  # values posted per station, as bench/perf/station_batch.py posts


@dataclass
class Server:
    label: str
    argv: list[str]
    env: dict[str, str]
    ready_path: str
    batch_body: bool = False  # BentoML's batchable API takes a JSON array of requests and answers one


def server(key: str, port: int, workers: int, registry: Path, name: str) -> Server:
    """How to start `key` serving model `name` of `registry` on `port` with `workers` workers."""
    python = sys.executable
    peer = {MODEL_DIR_VARIABLE: str(registry), MODEL_NAME_VARIABLE: name, "PYTHONPATH": str(ROOT)}
    if key == "paxcast":
        env = {
            "PAXCAST_MODEL_DIR": str(registry),
            "PAXCAST_MODEL_NAME": name,  # the default model; the registry holds only this one
            "PAXCAST_WORKERS": str(workers),
            "PAXCAST_THREADS": "1",
            "PAXCAST_RELOAD_INTERVAL": "0",
            "PAXCAST_HOST": "127.0.0.1",
            "PAXCAST_PORT": str(port),
        }
        return Server("paxcast", [python, "-m", "paxcast.service.cli.main", "serve"], env, "/readyz")
    if key == "ray":
        argv = [python, "-m", "bench.peers.ray_serve", "--port", str(port), "--workers", str(workers)]
        return Server("Ray Serve", argv, {**peer, "RAY_USAGE_STATS_ENABLED": "0"}, forecast_path(name))
    if key == "bentoml":
        argv = [str(Path(python).with_name("bentoml")), "serve", "bench.peers.bentoml_service:PeerForecast"]
        argv += ["--host", "127.0.0.1", "--port", str(port)]
        env = {**peer, "PAXCAST_PEER_WORKERS": str(workers), "BENTOML_DO_NOT_TRACK": "true"}
        return Server("BentoML", argv, env, "/readyz", batch_body=True)
    if key == "litserve":
        argv = [python, "-m", "bench.peers.litserve_server", "--port", str(port), "--workers", str(workers)]
        return Server("LitServe", argv, {**peer, "LITSERVE_DISABLE_TELEMETRY": "1"}, "/health")
    raise ValueError(f"unknown server {key!r}; expected one of {', '.join(SERVERS)}")


@dataclass
class Request:
    key: str
    name: str  # the model
    body: dict
    files: dict[bool, Path] = field(default_factory=dict)  # batch_body -> the body wrk posts


def requests(keys: list[str], folder: Path) -> list[Request]:
    """The request bodies, written for wrk as each server takes them (plain, and in brackets for BentoML)."""
    from bench.perf.station_batch import request_body

    out = []
    for key in keys:
        name = MODELS[key]
        if key == "air":
            history = histories(served_card(ROOT / "models", name), 1, seed=1)[0].tolist()
            body = {"series": [{"id": "air", "history": history}], "horizon": AIR_HORIZON}
        else:
            body = json.loads(request_body(ROOT / "models", name, SEOUL_HISTORY)[0])
        request = Request(key, name, body)
        for batch in (False, True):
            request.files[batch] = folder / f"{key}{'-batch' if batch else ''}.json"
            request.files[batch].write_bytes(orjson.dumps([body] if batch else body))
        out.append(request)
    return out


def paxcast_answer(request: Request) -> dict:
    """What paxcast's route answers, computed here: Predictor.forecast and the route's renderer."""
    from paxcast.service.api.responses import forecast_response
    from paxcast.service.core.registry import current_version
    from paxcast.service.core.request import ForecastRequest
    from paxcast.service.inference.predictor import Predictor

    models = ROOT / "models"
    predictor = Predictor.load(models / request.name / current_version(models, request.name), threads=1)
    return orjson.loads(forecast_response(predictor.forecast(ForecastRequest.model_validate(request.body))).body)


def post(url: str, path: Path) -> dict:
    with urllib.request.urlopen(
        urllib.request.Request(url, data=path.read_bytes(), headers={"Content-Type": "application/json"}), timeout=120
    ) as response:
        return json.loads(response.read())


def drive(spec: Server, started, request: Request, expected: dict, connections: list[int], args, workers: int):
    """Check a started server's answer against paxcast's, then drive it at each concurrency: one row per cell."""
    rows: list[dict] = []
    body = request.files[spec.batch_body]
    url = started.base + forecast_path(request.name)
    answer = post(url, body)
    wrong = differences(expected, answer[0] if spec.batch_body else answer)
    if wrong:
        print(f"  {spec.label} {request.key}: NOT paxcast's forecast: {'; '.join(wrong[:3])}", flush=True)
        return [{"server": spec.label, "request": request.key, "workers": workers, "wrong": wrong[:3]}]
    for c in connections:
        run_wrk(url, body, c, args.warmup)
        if not wait_until_idle(started.process.pid):  # the warm-up's last requests run outside the cell
            print(f"  {spec.label} still busy 30 s after the warm-up; measuring anyway", flush=True)
        load = os.getloadavg()[0]
        cpu_before = cpu_seconds(started.process.pid)
        result = run_wrk(url, body, c, args.seconds)
        cpu = cpu_seconds(started.process.pid) - cpu_before
        result |= {
            "server": spec.label,
            "request": request.key,
            "workers": workers,
            "connections": c,
            "cpu_ms_per_request": 1e3 * cpu / max(result["requests"], 1),
            "pss_mib": pss_mib(started.process.pid),
            "load_avg": load,
        }
        rows.append(result)
        print(
            f"  {spec.label:9s} {request.key:5s} w={workers} c={c:<3d} {result['rps']:8.1f} req/s  "
            f"p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms  "
            f"CPU {result['cpu_ms_per_request']:6.2f} ms/req  PSS {result['pss_mib']:6.0f} MiB  "
            f"errors {result['errors']}  (load avg {load:.2f})",
            flush=True,
        )
    return rows


def measure(
    key: str, workers: int, request: Request, expected: dict, connections: list[int], args, tmp: Path
) -> list[dict]:
    """Start `key` for `request`'s model, check its answer, drive it at each concurrency; stop it."""
    registry = tmp / f"registry-{request.name}"
    port = serving.free_port()
    spec = server(key, port, workers, registry, request.name)
    log = tmp / f"{key}-{request.key}-{workers}.log"
    rows: list[dict] = []
    tree: list[tuple] = []  # the server's processes just before it is stopped, for the leftover check
    with serving.running(spec.argv, port, log, env=spec.env, ready_path=spec.ready_path, timeout=180) as started:
        try:
            rows = drive(spec, started, request, expected, connections, args, workers)
        finally:
            tree = [found for pid in process_tree(started.process.pid) if (found := identity(pid))]
    left = leftovers(started.process.pid, tree)
    if left:  # it would spin beside every later cell and skew them: stop the run here
        raise RuntimeError(f"{spec.label} left processes running after its stop:\n  " + "\n  ".join(left))
    return rows


def summary(runs: list[dict]) -> list[dict]:
    """One row per server, workers, request and concurrency: medians over rounds, errors added up."""
    cells: dict[tuple, list[dict]] = {}
    for run in runs:
        if "wrong" not in run:
            cells.setdefault((run["workers"], run["request"], run["connections"], run["server"]), []).append(run)
    out = []
    for (workers, request, c, label), group in sorted(cells.items(), key=lambda kv: kv[0][:3]):
        row = {"workers": workers, "request": request, "connections": c, "server": label, "rounds": len(group)}
        for key in ("rps", "p50_ms", "p99_ms", "cpu_ms_per_request", "pss_mib", "load_avg"):
            row[key] = statistics.median(r[key] for r in group)
        row["errors"] = sum(r["errors"] for r in group)
        row["requests"] = sum(r["requests"] for r in group)
        out.append(row)
    return out


def ratio_rows(rows: list[dict]) -> list[list]:
    """Per cell (workers, request, c): the peer with the most req/s, and paxcast's req/s and p99 over its."""
    out = []
    for cell in sorted({(r["workers"], r["request"], r["connections"]) for r in rows}):
        here = [r for r in rows if (r["workers"], r["request"], r["connections"]) == cell]
        here = [r for r in here if r["requests"]]  # a cell where nothing finished has no rate to compare
        ours = next((r for r in here if r["server"] == "paxcast"), None)
        peers = [r for r in here if r["server"] != "paxcast"]
        if ours and peers:
            best = max(peers, key=lambda r: r["rps"])
            out.append(
                [*cell, best["server"], f"{ours['rps'] / best['rps']:.2f}", f"{ours['p99_ms'] / best['p99_ms']:.2f}"]
            )
    return out


def report(rows: list[dict]) -> str:
    """The side-by-side table, and per cell paxcast's req/s over the best peer's."""
    lines = table(
        ["workers", "request", "c", "server", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "PSS MiB", "errors", "load"],
        [
            [
                r["workers"],
                r["request"],
                r["connections"],
                r["server"],
                f"{r['rps']:.1f}",
                f"{r['p50_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                f"{r['cpu_ms_per_request']:.2f}",
                f"{r['pss_mib']:.0f}",
                r["errors"],
                f"{r['load_avg']:.2f}",
            ]
            for r in rows
            if r["requests"]
        ]
        + [
            [r["workers"], r["request"], r["connections"], r["server"], "none finished: make --seconds longer"]
            + [""] * 6
            for r in rows
            if not r["requests"]
        ],
    )
    ratios = ratio_rows(rows)
    if ratios:
        lines += "\n\n" + table(
            ["workers", "request", "c", "best peer (req/s)", "paxcast / best req/s", "paxcast / best p99"], ratios
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per cell (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each cell (default 2)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds; the order of the servers reverses each round")
    parser.add_argument("--workers", default="1,2", help="workers settings, run one after the other (default 1,2)")
    parser.add_argument("--connections", default="1,16,64", help="wrk concurrencies (default 1,16,64)")
    parser.add_argument("--servers", default=",".join(SERVERS), help=f"which of {', '.join(SERVERS)}")
    parser.add_argument("--requests", default=",".join(MODELS), help=f"which of {', '.join(MODELS)}")
    parser.add_argument("--json", type=Path, help="also write every run and the medians here")
    args = parser.parse_args(argv)
    keys, request_keys = args.servers.split(","), args.requests.split(",")
    for key in keys:
        if key not in SERVERS:
            parser.error(f"--servers: unknown server {key!r}; expected some of {', '.join(SERVERS)}")
    for key in request_keys:
        if key not in MODELS:
            parser.error(f"--requests: unknown request {key!r}; expected some of {', '.join(MODELS)}")
    if shutil.which("wrk") is None:
        raise SystemExit("bench/peers: wrk not found; install it with `apt-get install -y wrk` (or `make wrk`)")
    connections = [int(c) for c in args.connections.split(",")]

    started_on = machine()
    print(f"machine: {started_on}", flush=True)
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="paxcast-peers-") as tmp:
        tmp = Path(tmp)
        bodies = requests(request_keys, tmp)
        for request in bodies:  # each server's registry holds only the model its request asks
            (tmp / f"registry-{request.name}").mkdir()
            (tmp / f"registry-{request.name}" / request.name).symlink_to(ROOT / "models" / request.name)
        expected = {request.key: paxcast_answer(request) for request in bodies}
        for workers in (int(w) for w in args.workers.split(",")):
            for round_number in range(args.rounds):
                order = keys if round_number % 2 == 0 else keys[::-1]
                print(f"workers {workers}, round {round_number + 1}: {', '.join(order)}", flush=True)
                for request in bodies:
                    for key in order:
                        runs += measure(key, workers, request, expected[request.key], connections, args, tmp)
    rows = summary(runs)
    print()
    print(f"machine: {started_on}; at the end: {machine()}")
    print(
        f"versions: {package_versions('onnxruntime', 'uvicorn', 'fastapi', 'ray', 'bentoml', 'litserve')}; "
        f"wrk 1 thread; {args.seconds:g} s per cell after {args.warmup:g} s warm-up, median of {args.rounds} "
        f"round(s); CPU = the server's process tree, PSS = its memory after the cell"
    )
    for run in runs:
        if "wrong" in run:
            print(f"NOT MEASURED: {run['server']} {run['request']} w={run['workers']}: {'; '.join(run['wrong'])}")
    print()
    print(report(rows))
    if args.json:
        args.json.write_text(
            json.dumps(
                {"machine": started_on, "args": vars(args) | {"json": str(args.json)}, "runs": runs, "summary": rows},
                indent=1,
            )
            + "\n"
        )


def check() -> None:
    """Two rounds of one cell become one median row, and the ratio table names the best peer."""
    run = {"workers": 1, "request": "air", "connections": 16, "errors": 0, "load_avg": 1.0, "pss_mib": 100.0}
    run |= {"requests": 10}
    runs = [
        run | {"server": "paxcast", "rps": 1000.0, "p50_ms": 1, "p99_ms": 2, "cpu_ms_per_request": 0.5},
        run | {"server": "paxcast", "rps": 1200.0, "p50_ms": 1, "p99_ms": 4, "cpu_ms_per_request": 0.5},
        run | {"server": "LitServe", "rps": 400.0, "p50_ms": 5, "p99_ms": 9, "cpu_ms_per_request": 2.0},
    ]
    rows = summary(runs)
    if [(r["server"], r["rps"], r["p99_ms"]) for r in rows] != [("paxcast", 1100.0, 3), ("LitServe", 400.0, 9)]:
        raise AssertionError(f"medians over rounds came out as {rows}")
    if ratio_rows(rows) != [[1, "air", 16, "LitServe", "2.75", "0.33"]]:
        raise AssertionError(f"the ratio rows came out as {ratio_rows(rows)}")
