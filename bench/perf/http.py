"""HTTP load, side by side: (a) the real service, (b) the same app on PyTorch eager, (c) the HTTP floor,
(d) a FastAPI endpoint that parses the request with pydantic and returns a fixed forecast, and
(p) the previous release of the service (`--previous REV`, run from a clean checkout of that commit).

    python -m bench.perf.http [--seconds 10] [--rounds 2] [--workers 1] [--threads 1] [--servers a,b,c,d,p]

Each server is started alone on a free 127.0.0.1 port, driven by wrk (one thread, a Lua
script that POSTs the body) with single-series requests at concurrency 1, 16 and 64 and
with a 1,000-series request at concurrency 1, for `--seconds` each after a 1 s warm-up,
then stopped with its whole process group; `--rounds` repeats this over all servers and
the tables report the medians. All three serve the same trained model
(bench/common.py: same_model) under uvicorn with the service's event loop, HTTP parser,
logging and number of workers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.common import ROOT, histories, package_versions, same_model, save_module, table
from paxcast.service.api.main import HTTP, LOOP
from paxcast.training.backtest.series_report import machine
from tests import serving
from tests.serving import free_port

LUA = Path(__file__).with_name("post.lua")
PREVIOUS = "ea0f385"  # the last commit before the typed contract and batching (stop 7's landing)
HORIZON = 12  # a year of monthly values: a typical request


@dataclass
class Server:
    key: str
    label: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    ready_path: str = "/readyz"
    cwd: Path = ROOT  # the tree whose code runs (the previous release runs from its own checkout)


@dataclass
class Load:
    label: str
    body: Path
    connections: int
    series: int
    background: Path | None = None  # a body a second wrk posts at c=1 all the while (large requests beside small)


def uvicorn_argv(app: str, port: int, workers: int, loop: str = LOOP, http: str = HTTP) -> list[str]:
    """Serve `app` (a factory) with the uvicorn options of `paxcast serve` (bench/perf/servers.py: main)."""
    return [
        sys.executable,
        "-m",
        "bench.perf.servers",
        app,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        loop,
        "--http",
        http,
    ]


@contextlib.contextmanager
def running(server: Server, port: int, log: Path):
    """Start `server` (tests/serving.py: in its own session), wait until it answers `ready_path`; stop it on exit."""
    env = {**server.env, "PYTHONPATH": str(server.cwd)}
    with serving.running(
        server.argv, port, log, env=env, ready_path=server.ready_path, timeout=120, cwd=server.cwd
    ) as started:
        yield started.base


def run_wrk(url: str, body: Path, connections: int, seconds: float) -> dict:
    """One wrk run; returns req/s, p50/p99 in ms and the error count."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(LUA), url]
    done = subprocess.run(
        argv, capture_output=True, text=True, env={**os.environ, "PAXCAST_BENCH_BODY": str(body)}, timeout=seconds + 60
    )
    line = next((out for out in done.stdout.splitlines() if out.startswith("{")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    raw = json.loads(line)
    return {
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1e3,
        "p99_ms": raw["p99_us"] / 1e3,
        "errors": sum(raw["errors"].values()),
        "requests": raw["requests"],
    }


def combine(rounds: list[dict]) -> dict:
    """Rounds of one server and load: medians of rate and latencies, errors added up."""

    def middle(key: str) -> float:
        return float(np.median([r[key] for r in rounds]))

    return {
        "rps": middle("rps"),
        "p50_ms": middle("p50_ms"),
        "p99_ms": middle("p99_ms"),
        "load_avg": middle("load_avg"),
        "errors": sum(r["errors"] for r in rounds),
        "requests": sum(r["requests"] for r in rounds),
        "rounds": rounds,
    }


def write_bodies(card, folder: Path) -> tuple[Path, Path, Path]:
    """One-series, 1,000-series and 10,000-series request bodies, with real histories of the model's window."""
    bodies = []
    for n, seed in ((1, 1), (1000, 2), (10_000, 5)):
        rows = histories(card, n, seed=seed)
        path = folder / f"body-{n}.json"
        series = [{"id": f"s{i}", "history": row.tolist()} for i, row in enumerate(rows)]
        path.write_text(json.dumps({"series": series, "horizon": HORIZON}))
        bodies.append(path)
    return tuple(bodies)


def servers(
    model, module_file: Path, port: int, workers: int, threads: int, metrics_dir: Path, previous: Path | None = None
) -> dict[str, Server]:
    common = {
        "PAXCAST_MODEL_DIR": str(model.registry),
        "PAXCAST_WORKERS": str(workers),
        "PAXCAST_THREADS": str(threads),
        "PAXCAST_RELOAD_INTERVAL": "0",
        "PAXCAST_PORT": str(port),
        "PAXCAST_HOST": "127.0.0.1",
    }
    # The real service makes its own metrics directory when workers > 1; give (b) the same costs.
    torch_env = {**common, "PAXCAST_BENCH_TORCH_MODULE": str(module_file)}
    if workers > 1:
        torch_env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    return {
        "a": Server(
            "a", "(a) paxcast serve (onnxruntime)", [sys.executable, "-m", "paxcast.service.cli.main", "serve"], common
        ),
        "b": Server(
            "b", "(b) same app, PyTorch eager", uvicorn_argv("bench.perf.servers:torch_app", port, workers), torch_env
        ),
        "c": Server(
            "c",
            "(c) bare FastAPI, fixed answer",
            uvicorn_argv("bench.perf.servers:floor_app", port, workers),
            {**common, "PAXCAST_BENCH_HORIZON": str(HORIZON)},
            ready_path="/readyz",
        ),
        "d": Server(
            "d",
            "(d) FastAPI, pydantic parse, fixed answer",
            uvicorn_argv("bench.perf.servers:parse_app", port, workers),
            common,
        ),
        # The previous release had top-level `service`/`training` packages: it runs from its own checkout.
        "p": Server(
            "p",
            "(p) previous release",
            [sys.executable, "-m", "service.cli.main", "serve"],
            common,
            cwd=previous or ROOT,
        ),
    }


@contextlib.contextmanager
def checkout(revision: str):
    """A clean checkout of `revision` of this repository in a temporary directory (git worktree), removed after."""
    with tempfile.TemporaryDirectory(prefix="paxcast-previous-") as tmp:
        path = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), revision],
            check=True,
            capture_output=True,
        )
        try:
            yield path
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], capture_output=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per server and load")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("PAXCAST_WORKERS", "1")),
        help="uvicorn workers for every server",
    )
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (onnxruntime and torch)")
    parser.add_argument("--servers", default="a,b,c,d,p", help="which of a, b, c, d, p to run")
    parser.add_argument(
        "--previous", default=PREVIOUS, help=f"the previous release's commit, served as (p) (default {PREVIOUS})"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds over all servers; the tables show medians")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "air_passengers.csv")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("bench/perf/http.py: wrk not found; install it with `apt-get install -y wrk` (Debian)")

    with tempfile.TemporaryDirectory(prefix="paxcast-bench-") as tmp, checkout(args.previous) as previous:
        tmp = Path(tmp)
        print(f"training the served design with the pipeline into {tmp} ...", flush=True)
        model = same_model(tmp / "registry", args.data)
        module_file = save_module(model, tmp / "module.pt")
        single, batch, huge = write_bodies(model.card, tmp)
        loads = [
            Load("1 series, c=1", single, 1, 1),
            Load("1 series, c=16", single, 16, 1),
            Load("1 series, c=64", single, 64, 1),
            Load("1,000 series, c=1", batch, 1, 1000),
            Load("10,000 series, c=1", huge, 1, 10_000),
            Load("1 series, c=16, beside 10,000-series requests", single, 16, 1, background=huge),
        ]
        runs: dict[str, dict[str, list[dict]]] = {}
        for round_number in range(1, args.rounds + 1):  # rounds interleave the servers: background load hits all alike
            for key in args.servers.split(","):
                port = free_port()
                server = servers(
                    model, module_file, port, args.workers, args.threads, tmp / f"metrics-{key}", previous
                )[key]
                (tmp / f"metrics-{key}").mkdir(exist_ok=True)
                with running(server, port, tmp / f"server-{key}.log") as base:
                    for load in loads:
                        url = f"{base}/v1/forecast" + (f"?n={load.series}" if key == "c" else "")
                        run_wrk(url, load.body, load.connections, 1)  # warm-up: connections, caches, shapes
                        load_avg = os.getloadavg()[0]
                        beside = None
                        if load.background is not None:  # the large requests run throughout the measurement
                            big_url = f"{base}/v1/forecast" + ("?n=10000" if key == "c" else "")
                            beside = threading.Thread(
                                target=run_wrk, args=(big_url, load.background, 1, args.seconds + 1)
                            )
                            beside.start()
                        result = run_wrk(url, load.body, load.connections, args.seconds)
                        if beside is not None:
                            beside.join()
                        result["load_avg"] = load_avg
                        runs.setdefault(server.label, {}).setdefault(load.label, []).append(result)
                        print(
                            f"  round {round_number} {server.label:34s} {load.label:18s} "
                            f"{result['rps']:9.1f} req/s  p50 {result['p50_ms']:7.2f} ms  "
                            f"p99 {result['p99_ms']:7.2f} ms  errors {result['errors']}  (load avg {load_avg:.2f})",
                            flush=True,
                        )
        results = {
            label: {load: combine(rounds) for load, rounds in by_load.items()} for label, by_load in runs.items()
        }

    print()
    print(f"machine: {machine()}")
    print(
        f"versions: {package_versions('uvicorn', 'fastapi', 'onnxruntime', 'torch')}; wrk 1 thread; "
        f"{args.workers} worker(s), {args.threads} intra-op thread(s); "
        f"{args.seconds:g} s per cell, median of {args.rounds} round(s)"
    )
    print()
    rows = []
    for label, by_load in results.items():
        for load_label, r in by_load.items():
            rows.append(
                [
                    label,
                    load_label,
                    f"{r['rps']:.1f}",
                    f"{r['p50_ms']:.2f}",
                    f"{r['p99_ms']:.2f}",
                    r["errors"],
                    f"{r['load_avg']:.2f}",
                ]
            )
    print(table(["server", "load", "req/s", "p50 ms", "p99 ms", "errors", "load avg"], rows))
    labels = {label[:3]: label for label in results}
    if "(a)" in labels and len(labels) > 1:
        print()
        others = [key for key in ("(c)", "(d)", "(b)", "(p)") if key in labels]
        ratio_rows = []
        for load_label in results[labels["(a)"]]:
            ra = results[labels["(a)"]][load_label]["rps"]
            ratio_rows.append([load_label] + [f"{ra / results[labels[key]][load_label]['rps']:.2f}" for key in others])
        print(table(["load"] + [f"(a)/{key} req/s" for key in others], ratio_rows))
    if args.json:
        args.json.write_text(
            json.dumps(
                {"machine": machine(), "workers": args.workers, "threads": args.threads, "results": results}, indent=2
            )
        )


if __name__ == "__main__":
    main()
