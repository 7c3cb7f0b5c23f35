"""Diagnosis, no training: the base validation chose, alone (the network off), on the protocol's scored week of
Melbourne's six weeks, beside last week's hour (which equals the backtest's SeasonalNaive168 row, origin for origin):

    OMP_NUM_THREADS=1 python -m experiments.short_history.base_alone
"""

from __future__ import annotations

import numpy as np

from experiments.short_history.run import FILES
from paxcast.training.backtest.cuts import cut, keep_last_days, parse_origins
from paxcast.training.backtest.network import posted_series
from paxcast.training.data import read_series
from paxcast.training.metrics import wape
from paxcast.training.network.base import choose_base, naive_forecast
from paxcast.training.network.pipeline import make_calendar, resolve_global_config


def main() -> None:
    path, country, subdiv, days = FILES["melbourne last 6 weeks"]
    series = keep_last_days(read_series(path), days)
    calendar = make_calendar("h", country, subdiv, None)
    err, total = {"base": 0.0, "lag": 0.0}, 0.0
    for origin in parse_origins("last7@23:00", series, 24):
        config0 = resolve_global_config(series, len(calendar.names), horizon=24)
        c = cut(series, origin, 24, config0.shortest, 168)
        config = choose_base(c.past, resolve_global_config(c.past, len(calendar.names), horizon=24), calendar)
        posted, _ = posted_series(c, config.window, 168)
        W = config.window
        hist = np.full((len(posted), W), np.nan, np.float32)
        for i, s in enumerate(posted):
            hist[i, W - len(s.y) :] = s.y
        firsts = np.array([np.datetime64(s.start) - np.timedelta64(W - len(s.y), "h") for s in posted], "datetime64[s]")
        cal = calendar.windows(firsts, W + 24)
        f = naive_forecast(hist, config, cal)
        lag = naive_forecast(
            hist, config.updated(base_lag=168, base_seasons=None, base_statistic="mean", base_day_type=None), cal
        )
        m = np.isfinite(c.actuals)
        err["base"] += np.abs(c.actuals - f)[m].sum()
        err["lag"] += np.abs(c.actuals - lag)[m].sum()
        total += np.abs(c.actuals)[m].sum()
        words = config.base_words(calendar.names)
        print(origin, words, f"base alone {wape(c.actuals, f):.2f}", f"lag168 {wape(c.actuals, lag):.2f}")
    print("pooled", {k: round(float(100 * v / total), 2) for k, v in err.items()})


if __name__ == "__main__":
    main()
