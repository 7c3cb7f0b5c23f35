"""Probe for the next stage of issue 32: would a mean of the last weeks' same hour beat last week's hour as the base?

No training. The same cut as `run.py` (each file as it stood at the protocol's first scored origin), validation
windows of a 504-hour window (three weeks; a window with a gap is skipped, so Bengaluru keeps one window per
series, the last day), scored by pooled WAPE for each naive:

    OMP_NUM_THREADS=1 python -m experiments.short_history.naive_probe
"""

from __future__ import annotations

import numpy as np

from experiments.short_history.run import FILES
from paxcast.training.backtest.cuts import cut, keep_last_days, parse_origins
from paxcast.training.data import read_series
from paxcast.training.metrics import wape
from paxcast.training.network.pipeline import make_calendar, resolve_global_config
from paxcast.training.network.windows import timeline, validation_windows

WEEKS = 3


def lag(history: np.ndarray, back: int) -> np.ndarray:
    """(n, 24): each window's day `back` hours before the day after it."""
    width = history.shape[1]
    return history[:, width - back : width - back + 24]


def main() -> None:
    for name, (path, _country, _subdiv, days) in FILES.items():
        series = read_series(path)
        if days:
            series = keep_last_days(series, days)
        past = cut(series, parse_origins("last7@23:00", series, 24)[0], 24, 24, 168).past
        calendar = make_calendar("h", None, None, None)
        config = resolve_global_config(past, len(calendar.names), horizon=24, window=WEEKS * 168)
        val = validation_windows(past, timeline(past, calendar, 24), config)
        weeks = np.stack([lag(val.history, 168 * k) for k in range(1, WEEKS + 1)])
        scores = {
            "lag 24": wape(val.target, lag(val.history, 24)),
            "lag 168": wape(val.target, weeks[0]),
            "mean of 2 weeks": wape(val.target, weeks[:2].mean(axis=0)),
            "mean of 3 weeks": wape(val.target, weeks.mean(axis=0)),
            "median of 3 weeks": wape(val.target, np.median(weeks, axis=0)),
        }
        print(f"{name}: {len(val.history)} windows; " + ", ".join(f"{k} {v:.2f} %" for k, v in scores.items()))


if __name__ == "__main__":
    main()
