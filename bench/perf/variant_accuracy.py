"""The graph variants of bench/perf/graph_variants.py on the station backtests: does accuracy hold? (issue 34)

    python -m bench.perf.variant_accuracy [--datasets seoul,melbourne] [--graphs DIR] [--json FILE]

The backtests of docs/accuracy.md ("Station models"): Seoul at origins 2019-11-30 and 2020-09-02 (horizon 28,
KR holidays) and Melbourne at 2015-01-30T23:00 and 2015-02-06T23:00 (horizon 168, AU/VIC). They retrain per
origin, so each origin is trained once, as `paxcast backtest` trains it (`fit_global`, registered and loaded
by the service's `Predictor`: training/backtest/network.py), and then every variant of that origin's exported
graph answers the same request through that `Predictor` (its session swapped for the variant's, the load
probe run again): the variants differ in the graph alone. `--graphs DIR` keeps each origin's registry there
and reuses it on the next run (training is ~95 % of the time).

Scores are docs/accuracy.md's (network_report.scored): pooled WAPE, 80/95 % coverage, per origin and pooled
over both. The ship rule (issue 34): against the shipped graph (ALL), WAPE within 1 % relative and each
coverage within 1 point, at every origin and pooled, on both data sets.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, table
from bench.perf.graph_variants import SHIPPED, VARIANTS, prepare, session
from paxcast.service.core.contract import sha256_of
from paxcast.service.core.registry import current_version
from paxcast.service.inference.predictor import Predictor
from paxcast.training.backtest.network import REGISTERED_AS, Forecast, origin_run, plan_backtest, posted_series
from paxcast.training.backtest.network_report import scored
from paxcast.training.backtest.series_report import machine
from paxcast.training.data import read_series
from paxcast.training.network.pipeline import fit_global
from paxcast.training.served import served_forecast, served_predictor

LEVELS = [80, 95]
DATASETS = {  # docs/accuracy.md's commands
    "seoul": ("data/seoul_subway_daily/seoul_subway_daily.csv.gz", "2019-11-30,2020-09-02", 28, {"country": "KR"}),
    "melbourne": (
        "data/melbourne_pedestrian_hourly/melbourne_pedestrian_hourly.csv.gz",
        "2015-01-30T23:00,2015-02-06T23:00",
        168,
        {"country": "AU", "subdiv": "VIC"},
    ),
}
WAPE_RELATIVE = 0.01  # the ship rule
COVERAGE_POINTS = 1.0


def trained(plan, c, data_sha256: str, keep: Path) -> Predictor:
    """The origin's graph as the backtest serves it: from `keep` when an earlier run left it, else trained there."""
    registry = keep / "registry"
    if (registry / REGISTERED_AS / "CURRENT").exists():
        return Predictor.load(registry / REGISTERED_AS / current_version(registry, REGISTERED_AS), threads=1)
    began, load = time.perf_counter(), os.getloadavg()[0]
    fitted = fit_global(c.past, plan.config, plan.calendar, keep, plan.holiday_file, show_progress=False)
    print(
        f"    trained in {time.perf_counter() - began:.0f} s (load {load:.2f} -> {os.getloadavg()[0]:.2f})", flush=True
    )
    return served_predictor(fitted, registry, REGISTERED_AS, plan.data.name, data_sha256)


def backtest(key: str, graphs: Path, steps: int | None = None) -> dict:
    """Every variant scored at each origin of data set `key` and pooled: {"per_origin": [...], "pooled": {...}}."""
    data, origins, horizon, flags = DATASETS[key]
    data = ROOT / data
    series = read_series(data)
    plan = plan_backtest(data, series, origins, LEVELS, [], None, flags, {"horizon": horizon, "steps": steps})
    data_sha256 = sha256_of(data)
    runs = []
    for c in plan.cuts:
        print(f"  {key} {c.label}: {len(c.ids)} series", flush=True)
        keep = graphs / key / c.label.replace(":", "")
        keep.mkdir(parents=True, exist_ok=True)
        predictor = trained(plan, c, data_sha256, keep)
        posted, imputed = posted_series(c, plan.config.window, plan.config.season)
        forecasts = {}
        with tempfile.TemporaryDirectory(prefix="paxcast-variant-") as scratch:
            for variant in VARIANTS:
                path, level, _ = prepare(variant, predictor.path / "model.onnx", Path(scratch))
                variant_predictor = dataclasses.replace(predictor, session=session(path, level), quantile_cache={})
                variant_predictor.probe()
                load = os.getloadavg()[0]
                began = time.perf_counter()
                served = served_forecast(variant_predictor, posted, c.horizon, plan.levels, variant)
                seconds = time.perf_counter() - began
                forecasts[variant] = Forecast(served["mean"], served["intervals"], seconds, (load, os.getloadavg()[0]))
        runs.append(origin_run(plan, c, forecasts, {}, imputed))
    scores = scored(runs, LEVELS)
    keys = ("wape", "coverage80", "coverage95")
    return {
        "origins": [c.label for c in plan.cuts],
        "per_origin": [{v: {k: m[v][k] for k in keys} for v in VARIANTS} for m in scores.per_origin],
        "pooled": {v: {k: scores.summary[v][k] for k in keys} for v in VARIANTS},
    }


def rule_breaks(m: dict, base: dict, where: str) -> list[str]:
    """Where scores `m` break the ship rule against the shipped design's `base` (empty: they keep it)."""
    out = []
    if abs(m["wape"] - base["wape"]) > WAPE_RELATIVE * base["wape"]:
        out.append(f"{where}: WAPE {m['wape']:.3f} vs {base['wape']:.3f}")
    for level in LEVELS:
        name = f"coverage{level}"
        if abs(m[name] - base[name]) > COVERAGE_POINTS:
            out.append(f"{where}: cov{level} {m[name]:.1f} vs {base[name]:.1f}")
    return out


def verdicts(results: dict[str, dict]) -> dict[str, list[str]]:
    """Per variant, every place it breaks the ship rule against the shipped graph (empty: it may ship)."""
    out: dict[str, list[str]] = {v: [] for v in VARIANTS}
    for key, result in results.items():
        scopes = list(zip(result["origins"], result["per_origin"], strict=True)) + [("pooled", result["pooled"])]
        for where, metrics in scopes:
            for v in VARIANTS:
                out[v] += rule_breaks(metrics[v], metrics[SHIPPED], f"{key} {where}")
    return out


def report(results: dict[str, dict]) -> str:
    rows = []
    for key, result in results.items():
        scopes = list(zip(result["origins"], result["per_origin"], strict=True)) + [("pooled", result["pooled"])]
        for where, metrics in scopes:
            for v in VARIANTS:
                m = metrics[v]
                rows.append([key, where, v, f"{m['wape']:.3f}", f"{m['coverage80']:.1f}", f"{m['coverage95']:.1f}"])
    lines = table(["data", "origin", "variant", "WAPE %", "cov80 %", "cov95 %"], rows)
    for v, broken in verdicts(results).items():
        lines += f"\n{v}: " + ("SHIPS by the rule" if not broken else "does not ship: " + "; ".join(broken))
    return lines


def main(argv: list[str] | None = None) -> None:
    import torch

    parser = argparse.ArgumentParser(prog="python -m bench.perf.variant_accuracy", description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"some of {', '.join(DATASETS)}")
    parser.add_argument("--graphs", type=Path, help="keep (and reuse) each origin's trained registry here")
    parser.add_argument("--json", type=Path, help="also write the scores here")
    parser.add_argument("--steps", type=int, help="training steps (default: the backtest's; fewer only to try it)")
    args = parser.parse_args(argv)
    keys = args.datasets.split(",")
    for key in keys:
        if key not in DATASETS:
            parser.error(f"--datasets: unknown data set {key!r}; expected some of {', '.join(DATASETS)}")
    torch.set_num_threads(1)  # docs/accuracy.md runs these with OMP_NUM_THREADS=1
    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="paxcast-variant-graphs-") as scratch:
        graphs = args.graphs or Path(scratch)
        results = {key: backtest(key, graphs, args.steps) for key in keys}
    print(f"\nmachine at the end: {machine()}\n")
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=1) + "\n")


def check() -> None:
    """A variant 2 % worse in WAPE, or 1.5 points off in coverage, breaks the rule; an equal one does not."""
    same = {"wape": 10.0, "coverage80": 80.0, "coverage95": 95.0}
    metrics = {v: same for v in VARIANTS} | {"DISABLE": same | {"wape": 10.2}, "BASIC": same | {"coverage95": 93.5}}
    out = verdicts({"x": {"origins": [], "per_origin": [], "pooled": metrics}})
    if out["EXTENDED"] or not out["DISABLE"] or not out["BASIC"]:
        raise AssertionError(f"the ship rule came out as {out}")


if __name__ == "__main__":
    main()
