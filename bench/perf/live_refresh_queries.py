"""How often the live gauges' periodic refresh scores each model against the store, with several workers.

    flock /tmp/paxcast-cpu.lock python -m bench.perf.live_refresh_queries [--workers 2] [--refresh 1] [--seconds 20]

A real `paxcast serve` of the committed registry (every shipped model) with `--workers` workers and
PAXCAST_LIVE_REFRESH=`--refresh` logs to a throw-away PostgreSQL cluster (tests/postgres.py) whose server logs
every statement (log_statement=all). Each scoring of one model (service/store/scoring.py `score`) opens with one
`max(actuals.ds)` query (`window_of`); the script counts those the server ran during `--seconds` once the
service is ready, and prints them beside what one refresh per model per interval would be. Run it with the
interpreter of another checkout to measure that checkout's code (the server is `python -m paxcast...` of the
interpreter that runs this).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from tests import postgres
from tests.serving import ROOT, serve

WINDOW_QUERY = "max(actuals.ds)"  # the first query of every `score` call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--refresh", type=float, default=1.0, help="PAXCAST_LIVE_REFRESH, seconds")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    models = sorted(p.name for p in (ROOT / "models").iterdir() if (p / "CURRENT").is_file())
    with postgres.controlled_cluster() as cluster, tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("ALTER SYSTEM SET log_statement = 'all'"))
            conn.execute(text("SELECT pg_reload_conf()"))
        engine.dispose()
        settings = dict(store=cluster.url, workers=args.workers, live_refresh=args.refresh, live_days=28)
        with serve(ROOT / "models", Path(tmp) / "serve.log", timeout=120, **settings):
            time.sleep(2 * args.refresh)  # past the start-up pass
            start = cluster.log.read_text(errors="replace").count(WINDOW_QUERY)
            time.sleep(args.seconds)
            scored = cluster.log.read_text(errors="replace").count(WINDOW_QUERY) - start
    ideal = len(models) * args.seconds / args.refresh
    print(
        f"{sys.executable} (pid {os.getpid()}): {args.workers} workers, {len(models)} models, refresh "
        f"{args.refresh:g} s, {args.seconds:g} s: {scored} scorings ({scored / ideal:.2f} x one per model per "
        f"interval, {ideal:.0f})"
    )


if __name__ == "__main__":
    main()
