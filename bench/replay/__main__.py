"""The replay command: train on the data up to `--cut` (or take `--registry`), then per store serve `--days` days
after the cut through a real `paxcast serve` (bench/replay/operator.py), read the accuracy route by version,
step, series (and day, where the route has it), check it against the offline scoring, print the tables and
write the results JSON. Exits 1 when live and offline disagree, after writing the JSON.

    flock /tmp/paxcast-cpu.lock python -m bench.replay [--store sqlite|postgresql|both] [--days 60]
        [--cut 2020-08-01] [--registry DIR] [--stations N] [--out docs/results/replay-seoul.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bench.common import ROOT, served_card
from bench.perf.forecast_logging import store_for
from bench.replay.compare import agreement, live_scores, scores_table
from bench.replay.offline import Offline
from bench.replay.operator import LEVELS, Operator
from bench.replay.series import Grid, read_grid, require_cut, train, write_cut
from bench.replay.stores import store_size
from paxcast.training.backtest.series_report import machine
from tests.serving import serve

SEOUL = ROOT / "data" / "seoul_subway_daily" / "seoul_subway_daily.csv.gz"
SEOUL_FLAGS = "--horizon 28 --country KR"  # the Makefile's `train` target for seoul_subway_daily
BY = ("version", "step", "series", "day")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SEOUL, help="long-format daily file (default: Seoul)")
    parser.add_argument("--name", help="the model's name (default: the data file's, e.g. seoul_subway_daily)")
    parser.add_argument("--days", type=int, default=60, help="days served after the cut (default 60)")
    parser.add_argument(
        "--cut", type=dt.date.fromisoformat, help="last day trained on (default: --days before the end)"
    )
    parser.add_argument("--registry", type=Path, help="a registry holding the model trained on the cut: no training")
    parser.add_argument("--train-flags", default=SEOUL_FLAGS, help=f"paxcast train flags (default {SEOUL_FLAGS!r})")
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--stations", type=int, help="replay the first N series only (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="accuracy queries per `by` (the median is reported)")
    parser.add_argument("--out", type=Path, help="results JSON (default docs/results/replay-<name>.json)")
    return parser.parse_args(argv)


def model_for(args: argparse.Namespace, name: str, folder: Path) -> tuple[Path, float | None]:
    """The registry holding the model trained on the cut, and the training's seconds (None: given)."""
    if args.registry is not None:
        require_cut(served_card(args.registry, name), args.data, args.cut)
        return args.registry, None
    registry = folder / "models"
    seconds = train(write_cut(args.data, args.cut, folder), registry, name, args.train_flags)
    return registry, seconds


def replay(store: str, registry: Path, name: str, grid: Grid, args: argparse.Namespace, folder: Path) -> dict:
    """One store: serve the days, query the accuracy, compare; everything measured."""
    card = served_card(registry, name)
    levels = LEVELS if card.intervals is not None else []
    cut = grid.index(args.cut)
    # the MASE scale's span before the window, and one season more: a scale that read a few days too far back
    # would then read posted actuals and disagree with the offline scale, not silently find nothing there
    first_backfill = cut - max(args.days, 2 * card.season) - card.season + 1
    token = secrets.token_hex(16)
    (folder / store).mkdir()
    out: dict = {"store": store, "load_before": os.getloadavg()}
    with store_for(store, folder / store) as (settings, url):
        log = folder / store / "server.log"
        with serve(registry, log, models=name, model_name=name, ingest_token=token, **settings) as server:
            operator = Operator(server, url, token, name, (card.window, card.horizon), levels)
            out["backfill"] = {
                "days": cut - first_backfill + 1,
                "seconds": operator.backfill(grid, first_backfill, cut),
            }
            days = []
            for index in range(cut + 1, cut + args.days + 1):
                days.append(operator.run_day(grid, index))
                print(f"{store} {json.dumps(asdict(days[-1]))}", flush=True)
            out["days"] = [asdict(day) for day in days]
            out["load_after_days"] = os.getloadavg()
            offline = Offline(operator.served, grid, (first_backfill, cut + args.days), card.season, args.days)
            out["live"], out["agreement"], out["query_seconds"] = {}, {}, {}
            for by in BY:
                answers = [live_scores(server.base, name, args.days, by) for _ in range(args.repeats)]
                live, _ = answers[-1]
                if live is None:
                    out["live"][by] = None
                    continue
                out["query_seconds"][by] = [round(seconds, 3) for _, seconds in answers]
                out["live"][by] = live
                out["agreement"][by] = agreement(live, offline, by)
                if by == "series":  # the results file keeps the worst 20, as the route lists them by default
                    live["groups"] = live["groups"][:20]
            out["offline_by_day"] = offline.scores("day")
            out["model_vs_naive"] = offline.naive_gap()
            out["load_after_queries"] = os.getloadavg()
            operator.close()
        out["size"] = store_size(url)
    out["forecast_rows_served"] = operator.rows
    return out


def summary(result: dict) -> dict:
    """Medians per simulated day, and the store's bytes per served forecast row."""
    days = result["days"]
    median = {key: statistics.median(d[key] for d in days) for key in ("forecast_s", "flush_s", "actuals_s")}
    median["day_s"] = statistics.median(d["forecast_s"] + d["flush_s"] + d["actuals_s"] for d in days)
    rows = result["size"]["rows"]["forecasts"]
    return {"median_per_day": median, "bytes_per_forecast_row": result["size"]["bytes"] / max(rows, 1)}


def report(result: dict, levels: list[int]) -> None:
    store = result["store"]
    print(f"\n## {store}: {len(result['days'])} days, {result['forecast_rows_served']:,} forecast rows served")
    overall = {"all": result["live"]["version"]["overall"]}
    versions = {g["version"]: g for g in result["live"]["version"]["groups"]}
    print(scores_table({**overall, **versions}, "version", levels))
    print(scores_table({g["step"]: g for g in result["live"]["step"]["groups"]}, "step", levels))
    by_day = result["live"]["day"] and {g["day"]: g for g in result["live"]["day"]["groups"]}
    print(scores_table(by_day or result["offline_by_day"], "day (ds)" if by_day else "day (ds, offline)", levels))
    for by, found in result["agreement"].items():
        state = "agree" if not found["mismatches"] else f"{len(found['mismatches'])} MISMATCHES"
        print(
            f"by={by}: {found['groups']} groups, live and offline {state} "
            f"(largest relative difference {found['largest_relative_difference']:.1e})"
        )
        for line in found["mismatches"][:20]:
            print("  " + line)
    gap = result["model_vs_naive"]
    print(
        f"the model's forecast differs from seasonal naive's by more than float32 rounding on "
        f"{100 * gap['differ_share']:.2f} % of the points (median relative gap {gap['median_relative_gap']:.2e})"
    )
    size, per = result["size"], result["summary"]
    print(
        f"store: {size['bytes']:,} bytes, rows {size['rows']}, {per['bytes_per_forecast_row']:.0f} bytes/forecast row"
    )
    print(f"per simulated day (median s): {per['median_per_day']}; accuracy query s: {result['query_seconds']}")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    name = args.name or args.data.name.split(".")[0]
    grid = read_grid(args.data)
    args.cut = args.cut or grid.last - dt.timedelta(days=args.days)
    if args.cut + dt.timedelta(days=args.days) > grid.last:
        raise SystemExit(f"--cut {args.cut} + --days {args.days} runs past the data's last day {grid.last}")
    if args.stations:
        grid = Grid(grid.ids[: args.stations], grid.first, grid.y[: args.stations])
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="paxcast-replay-") as tmp:
        registry, train_seconds = model_for(args, name, Path(tmp))
        card = served_card(registry, name)
        results = [replay(store, registry, name, grid, args, Path(tmp)) for store in stores]
    levels = LEVELS if card.intervals is not None else []
    print(
        f"model {name} {card.version}: trained on {card.data_file}, kept step {card.training.best_step}, "
        f"validation WAPE {card.validation.wape} % against {card.validation.baseline_wape} % for seasonal naive"
    )
    for result in results:
        result["summary"] = summary(result)
        report(result, levels)
    out = args.out or ROOT / "docs" / "results" / f"replay-{name}.json"
    document = {
        "command": "python -m bench.replay " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "data": args.data.name,
        "cut": args.cut.isoformat(),
        "days": args.days,
        "series": len(grid.ids),
        "model": {
            "name": name,
            "version": card.version,
            "data_file": card.data_file,
            "train_seconds": train_seconds,
            "window": card.window,
            "horizon": card.horizon,
            "season": card.season,
            "best_step": card.training.best_step,  # 0: no optimiser step beat the seasonal-naive start
            "validation": card.validation.model_dump(),
        },
        "seconds": time.perf_counter() - started,
        "stores": results,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=1, default=str) + "\n")
    print(f"\nresults: {out}; {machine()}")
    failed = [by for r in results for by, found in r["agreement"].items() if found["mismatches"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
