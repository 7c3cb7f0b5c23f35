"""Which short-history design, chosen on validation inside the training data only (issue 32)?

For each file, the data as it stood at the protocol's first origin (the day before the scored week starts) is
cut there; each design trains on it as `paxcast train` would (`resolve_global_config`, `choose_base`,
`train_members`) and is scored on the same validation windows: the last seven day-ahead horizons of every
series (`VALIDATION_SPAN`), which training never sees. Nothing from the scored week is read.

    OMP_NUM_THREADS=1 python -m experiments.short_history.run [--designs today,week168,week-chosen,defaults]
"""

from __future__ import annotations

import argparse
import time

from paxcast.training.backtest.cuts import cut, keep_last_days, parse_origins
from paxcast.training.data import read_series
from paxcast.training.network.base import base_scores, choose_base
from paxcast.training.network.ensemble import train_members
from paxcast.training.network.pipeline import make_calendar, resolve_global_config

FILES = {
    "bengaluru entries": ("data/bengaluru_metro_hourly/bmrcl_hourly_entries.csv.gz", "IN", None, None),
    "bengaluru exits": ("data/bengaluru_metro_hourly/bmrcl_hourly_exits.csv.gz", "IN", None, None),
    "melbourne last 6 weeks": ("data/melbourne_pedestrian_hourly/melbourne_pedestrian_hourly.csv.gz", "AU", "VIC", 42),
}
# Every design with the same patience, so they differ only in what they name.
DESIGNS = {
    "today": dict(window=336, base_lag=168),  # today's shape (two weeks, last week's hour), a week of validation
    "week168": dict(window=168, base_lag=168),
    "week-chosen": dict(window=168),  # the new defaults: a one-week window, the base chosen on validation
    "today-chosen": dict(window=336),
    # stage 2: `paxcast train`'s defaults as they stand (a one-week shortest history, the base chosen among the
    # lags and the mean or median of the last weeks, the window widened to hold them)
    "defaults": dict(),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--designs", default="today,week168,week-chosen")
    parser.add_argument("--files", default=",".join(FILES))
    args = parser.parse_args()
    print("file | design | window | base | best step | val WAPE % | every base candidate's val WAPE % | s")
    for name in args.files.split(","):
        path, country, subdiv, days = FILES[name]
        series = read_series(path)
        if days:
            series = keep_last_days(series, days)
        first = parse_origins("last7@23:00", series, 24)[0]
        past = cut(series, first, 24, 24, 168).past  # the data as it stood at the first scored origin
        calendar = make_calendar("h", country, subdiv, None)
        for design in args.designs.split(","):
            config = resolve_global_config(
                past, len(calendar.names), horizon=24, patience_steps=1000, **DESIGNS[design]
            )
            naive = base_scores(past, config.updated(base_lag=None, base_seasons=None, base_statistic="mean"), calendar)
            config = choose_base(past, config, calendar)
            started = time.perf_counter()
            r = train_members(past, config, calendar, show_progress=False)
            scores = ", ".join(f"{words} {score:.2f}" for words, score in naive.items())
            words = config.base_words(calendar.names)
            print(
                f"{name} | {design} | {config.window} | {words} | {r.best_step} | {r.val_wape:.2f} | "
                f"{scores} | {time.perf_counter() - started:.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
