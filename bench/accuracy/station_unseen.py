"""Stations the model never saw: train on 80 % of a network's stations, forecast the other 20 %.

    python -m bench.accuracy.station_unseen [--data seoul] [--origin 2019-11-30] [--steps N]

Two global models on the data up to `--origin`, both through `paxcast backtest`'s own path
(`training.backtest.network.serve_ours`: `paxcast train`'s fit, the registry, the service's
Predictor): one trained on every station, one on a random 80 % (numpy seed 0). Both forecast the
held-out 20 % for the next horizon; the table gives their pooled WAPE on those stations beside
seasonal naive. If the model needed to have seen a station, the 80 % model would fall behind.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from bench.common import ROOT, table
from paxcast.service.core.contract import sha256_of
from paxcast.training.backtest.network import plan_backtest, serve_ours
from paxcast.training.backtest.peers import peer_forecast
from paxcast.training.backtest.series_report import machine
from paxcast.training.data import read_series
from paxcast.training.metrics import wape

DATA = {
    "seoul": (ROOT / "data/seoul_subway_daily/seoul_subway_daily.csv.gz", 28, {"country": "KR"}),
    "melbourne": (
        ROOT / "data/melbourne_pedestrian_hourly/melbourne_pedestrian_hourly.csv.gz",
        168,
        {"country": "AU", "subdiv": "VIC"},
    ),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy.station_unseen")
    parser.add_argument("--data", choices=sorted(DATA), default="seoul")
    parser.add_argument("--origin", default="2019-11-30")
    parser.add_argument("--steps", type=int)
    args = parser.parse_args(argv)
    path, horizon, flags = DATA[args.data]
    series = read_series(path)
    plan = plan_backtest(path, series, args.origin, [], [], None, flags, {"horizon": horizon, "steps": args.steps})
    (whole,) = plan.cuts
    rows = np.sort(np.random.default_rng(0).choice(len(whole.ids), size=len(whole.ids) // 5, replace=False))
    held = {whole.ids[k] for k in rows}
    scored = dataclasses.replace(
        whole,
        ids=[whole.ids[k] for k in rows],
        histories=[whole.histories[k] for k in rows],
        actuals=whole.actuals[rows],
    )
    naive = peer_forecast("SeasonalNaive", scored.ids, scored.histories, scored.freq, plan.config.season, horizon, [])
    table_rows = [["seasonal naive", "-", f"{wape(scored.actuals, naive['mean']):.2f}"]]
    data_sha256 = sha256_of(path)
    unseen = [s for s in whole.past if s.id not in held]
    for label, past in (("global, every station", whole.past), ("global, 80 % (held-out 20 % unseen)", unseen)):
        forecast, training, _ = serve_ours(plan, dataclasses.replace(scored, past=past), data_sha256, False)
        table_rows.append([label, training["series"], f"{wape(scored.actuals, forecast.mean):.2f}"])
        print(f"{label}: {training}", flush=True)
    print(f"machine: {machine()}")
    print(f"{args.data}, origin {whole.label}, horizon {horizon}: WAPE on the {len(scored.ids)} held-out stations")
    print(table(["model", "stations trained on", "WAPE %"], table_rows))


if __name__ == "__main__":
    main()
