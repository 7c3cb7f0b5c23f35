"""What logging served forecasts costs: a real `paxcast serve` with the forecast log off, on SQLite, on PostgreSQL.

    flock /tmp/paxcast-cpu.lock python -m bench.perf.forecast_logging [--seconds 10] [--rounds 1] [--modes off,sqlite]

One server per mode serves the committed air_passengers and seoul_subway_daily models (`--model-dir`). wrk
(bench/perf/http.py: run_wrk, one thread) drives it with two requests, both with `start` (so every step is
logged) and levels 80 and 95: the airline single series (its last 36 months, horizon 12) and the whole
Seoul network in one request (bench/perf/station_batch.py: 584 stations x 56 days, horizon 28), each at
c=16 and c=64 for `--seconds` after a 1 s warm-up. Per run: requests/s, p50, p99, errors, the load
average, and the rows the log wrote and dropped (the store's count, `paxcast_store_dropped_rows_total`).
SQLite: a file in a temp dir. PostgreSQL: a throw-away cluster (tests/postgres.py: unix socket, fsync
off, so its numbers are the cost of the protocol and the inserts, not of a durable disk). Also the
SQLite store's bytes per logged step (file size after a checkpoint / forecast rows, indexes and the
two bound rows included).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, func, select

from bench.common import table
from bench.perf.http import run_wrk
from bench.perf.station_batch import request_body
from paxcast.service.store.schema import forecasts
from paxcast.training.backtest.series_report import machine
from paxcast.training.data import read_series
from tests import postgres
from tests.serving import ROOT, serve

AIR, SEOUL = "air_passengers", "seoul_subway_daily"
LEVELS = [80, 95]
CONNECTIONS = (16, 64)
DROPPED = re.compile(rb"^paxcast_store_dropped_rows_total ([0-9.e+]+)$", re.MULTILINE)


def air_body(folder: Path) -> Path:
    """The airline series' last 36 months with its start, horizon 12, levels 80 and 95."""
    (series,) = read_series(ROOT / "data" / "air_passengers.csv")
    history = series.y[-36:].tolist()
    body = {"series": [{"id": "air", "history": history, "start": "1958-01-01"}], "horizon": 12, "level": LEVELS}
    path = folder / "air.json"
    path.write_text(json.dumps(body))
    return path


def seoul_body(folder: Path, model_dir: Path) -> Path:
    body, _ = request_body(model_dir, SEOUL, 56)
    path = folder / "seoul.json"
    path.write_bytes(body)
    return path


def dropped_rows(base: str) -> float:
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        found = DROPPED.search(response.read())
    return float(found.group(1)) if found else 0.0


def stored_rows(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(forecasts)).scalar_one()
    engine.dispose()
    return n


def sqlite_bytes_per_step(path: Path) -> float:
    """The SQLite store's size after a checkpoint, per forecast row (its bound rows and indexes included)."""
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.execute(select(func.count()).select_from(forecasts)).scalar_one()
    engine.dispose()
    return path.stat().st_size / max(rows, 1)


@contextlib.contextmanager
def store_for(mode: str, folder: Path):
    """The server settings for `mode`, and the store's URL (None when off)."""
    if mode == "off":
        yield {"log_forecasts": "false"}, None
    elif mode == "sqlite":
        url = f"sqlite:///{folder / 'store.sqlite'}"
        yield {"store": url}, url
    else:
        bin_dir = postgres.binaries()
        if bin_dir is None:
            raise SystemExit("PostgreSQL binaries not found (/usr/lib/postgresql/*/bin): install Debian's postgresql")
        with postgres.controlled_cluster(bin_dir) as cluster:
            yield {"store": cluster.url}, cluster.url


def measure(mode: str, model_dir: Path, bodies: dict[str, Path], seconds: float, folder: Path) -> list[dict]:
    runs = []
    with store_for(mode, folder) as (settings, url):
        log = folder / f"server-{mode}.log"
        with serve(model_dir, log, models=f"{AIR},{SEOUL}", model_name=AIR, **settings) as server:
            for name, body in bodies.items():
                endpoint = f"{server.base}/v1/models/{name}/forecast"
                for connections in CONNECTIONS:
                    run_wrk(endpoint, body, connections, 1)  # warm-up
                    before = dropped_rows(server.base), stored_rows(url) if url else 0
                    result = run_wrk(endpoint, body, connections, seconds)
                    result["load_avg"] = os.getloadavg()[0]
                    result.update(mode=mode, model=name, connections=connections)
                    result["dropped"] = dropped_rows(server.base) - before[0]
                    result["written"] = (stored_rows(url) - before[1]) if url else 0
                    runs.append(result)
                    print(json.dumps(result), flush=True)
        if mode == "sqlite":
            runs.append({"mode": mode, "bytes_per_step": sqlite_bytes_per_step(folder / "store.sqlite")})
    return runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.perf.forecast_logging")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=1, help="repeat every mode; the tables give medians")
    parser.add_argument("--modes", default="off,sqlite,postgresql")
    args = parser.parse_args(argv)
    modes = args.modes.split(",")
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="paxcast-logging-bench-") as tmp:
        folder = Path(tmp)
        bodies = {AIR: air_body(folder), SEOUL: seoul_body(folder, args.model_dir)}
        for _ in range(args.rounds):
            for mode in modes:
                (folder / mode).mkdir(exist_ok=True)
                results += measure(mode, args.model_dir, bodies, args.seconds, folder / mode)
                if (folder / mode / "store.sqlite").exists():
                    (folder / mode / "store.sqlite").unlink()
    print(f"machine: {machine()}")
    rows = []
    for name in (AIR, SEOUL):
        for connections in CONNECTIONS:
            off = [
                r for r in results if r.get("model") == name and r["connections"] == connections and r["mode"] == "off"
            ]
            for mode in modes:
                runs = [
                    r
                    for r in results
                    if r.get("model") == name and r["connections"] == connections and r["mode"] == mode
                ]
                if not runs:
                    continue
                rps, p99 = np.median([r["rps"] for r in runs]), np.median([r["p99_ms"] for r in runs])
                base = np.median([r["rps"] for r in off]) if off else float("nan")
                rows.append(
                    [
                        name,
                        connections,
                        mode,
                        f"{rps:.0f}",
                        f"{(rps / base - 1) * 100:+.1f}%" if mode != "off" else "",
                        f"{np.median([r['p50_ms'] for r in runs]):.1f}",
                        f"{p99:.1f}",
                        sum(r["errors"] for r in runs),
                        f"{sum(r['written'] for r in runs):,}",
                        f"{sum(r['dropped'] for r in runs):,.0f}",
                        f"{np.median([r['load_avg'] for r in runs]):.1f}",
                    ]
                )
    headers = ["model", "c", "log", "req/s", "vs off", "p50 ms", "p99 ms", "errors", "rows written", "dropped", "load"]
    print(table(headers, rows))
    sizes = [r["bytes_per_step"] for r in results if "bytes_per_step" in r]
    if sizes:
        print(f"SQLite store: {np.median(sizes):.0f} bytes per logged step (forecast row + 2 bound rows + indexes)")


if __name__ == "__main__":
    main()
