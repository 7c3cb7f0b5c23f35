"""Every base candidate of `paxcast train`'s defaults, scored on its validation windows (issue 32, stage 2).

No training: the naive forecast each candidate's untrained graph makes (`network.base.naive_forecast`, which a test
holds equal to the graph) on the same cut as `run.py` (each file as it stood at the protocol's first scored origin),
by pooled WAPE over the validation windows `choose_base` reads (the last seven day-ahead horizons of every series;
a three-week base skips the weeks a window lacks). The lowest is what `paxcast train` would choose:

    OMP_NUM_THREADS=1 python -m experiments.short_history.base_probe
"""

from __future__ import annotations

from experiments.short_history.run import FILES
from paxcast.training.backtest.cuts import cut, keep_last_days, parse_origins
from paxcast.training.data import read_series
from paxcast.training.network.base import base_scores, choose_base
from paxcast.training.network.pipeline import make_calendar, resolve_global_config


def main() -> None:
    for name, (path, country, subdiv, days) in FILES.items():
        series = read_series(path)
        if days:
            series = keep_last_days(series, days)
        past = cut(series, parse_origins("last7@23:00", series, 24)[0], 24, 24, 168).past
        calendar = make_calendar("h", country, subdiv, None)
        config = resolve_global_config(past, len(calendar.names), horizon=24)
        scores = ", ".join(f"{words} {score:.2f} %" for words, score in base_scores(past, config, calendar).items())
        print(f"{name}: {scores}; chosen: {choose_base(past, config, calendar).base_words(calendar.names)}", flush=True)


if __name__ == "__main__":
    main()
