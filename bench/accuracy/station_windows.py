"""The station backtest windows of issue 10 and how every method on them is scored.

A `Window` is one forecast origin over a multi-series file: each series' history up to and
including the origin (NaN where the file has no row) and the next `horizon` actuals. Scoring
is on observed actuals only; methods that need complete histories get `impute()`'d copies.
Imputation, the MASE scale and the scores are the product's (`paxcast.training.backtest.cuts`,
`global_scores`, which `paxcast backtest` uses on multi-series files); the bench keeps its windows
and its result keys.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bench.common import ROOT
from paxcast.service.core.covariates import timestamps
from paxcast.training import metrics
from paxcast.training.backtest.cuts import impute, subset_rows
from paxcast.training.data import read_series
from paxcast.training.metrics import mase_scale

__all__ = ["Window", "impute", "make_window", "mase_scale", "score", "seasonal_naive", "subset_rows", "take_subset"]

SEOUL = ROOT / "data" / "seoul_subway_daily" / "seoul_subway_daily.csv.gz"
MELBOURNE = ROOT / "data" / "melbourne_pedestrian_hourly" / "melbourne_pedestrian_hourly.csv.gz"


@dataclass
class Window:
    name: str
    freq: str
    horizon: int
    origin: np.datetime64  # last timestamp of the history
    season: int  # MASE scale and the seasonal-naive lag
    ids: list[str]
    starts: list[np.datetime64]
    histories: list[np.ndarray]  # (t_i,) each, NaN where missing
    actuals: np.ndarray  # (n, horizon), NaN where missing
    dropped: int  # series with no history before the origin or no actual in the horizon


def make_window(name: str, path: Path, horizon: int, origin: str, season: int, max_series: int | None = None) -> Window:
    """Cut every series of `path` at `origin` (inclusive) into a history and the next `horizon` actuals."""
    series = read_series(path)[:max_series]
    freq = series[0].freq
    at = np.datetime64(origin, "s")
    ids, starts, histories, actuals, dropped = [], [], [], [], 0
    for s in series:
        grid = timestamps(s.start, freq, len(s.y))
        cut = int(np.searchsorted(grid, at, side="right"))
        future = np.full(horizon, np.nan)
        tail = s.y[cut : cut + horizon]
        future[: len(tail)] = tail
        history = s.y[:cut]
        if np.isfinite(history).sum() < 2 * season or not np.isfinite(future).any():
            dropped += 1
            continue
        ids.append(s.id), starts.append(grid[0]), histories.append(history), actuals.append(future)
    return Window(name, freq, horizon, at, season, ids, starts, histories, np.stack(actuals), dropped)


def windows(which: str = "all", max_series: int | None = None) -> list[Window]:
    """(a) Seoul before COVID, (b) Seoul's last 28 days, (c1, c2) Melbourne's last two weeks."""
    out = []
    if which in ("all", "seoul"):
        out.append(make_window("seoul_a_2019-12", SEOUL, 28, "2019-11-30", 7, max_series))
        out.append(make_window("seoul_b_2020-09", SEOUL, 28, "2020-09-02", 7, max_series))
    if which in ("all", "melbourne"):
        out.append(make_window("melbourne_c1_2015-01-31", MELBOURNE, 168, "2015-01-30T23:00:00", 168, max_series))
        out.append(make_window("melbourne_c2_2015-02-07", MELBOURNE, 168, "2015-02-06T23:00:00", 168, max_series))
    return out


def score(window: Window, mean: np.ndarray, intervals: dict[int, tuple[np.ndarray, np.ndarray]] | None = None) -> dict:
    """`paxcast.training.metrics.score` under the keys of bench/results/station_baselines.json.

    Args:
        mean: forecasts of shape (n, horizon), rows in `window.ids` order.
        intervals: level -> (lower, upper), each (n, horizon).
    """
    scales = np.array([mase_scale(h, window.season) for h in window.histories])
    scores = metrics.score(window.actuals, mean, scales, intervals)
    out = {
        "series": scores["series"],
        "points": scores["points"],
        "wape_pct": scores["wape"],
        "mase_mean": scores["mase"],
        "mase_median": scores["mase_median"],
        "mase_p90": scores["mase_p90"],
    }
    for level in intervals or {}:
        out[f"cov{level}_pct"] = scores[f"coverage{level}"]
        out[f"width{level}_pct"] = scores[f"width{level}"]
    return out


def seasonal_naive(window: Window) -> np.ndarray:
    """The last observed season repeated, per series (n, horizon): the floor every model must beat."""
    out = np.empty_like(window.actuals)
    for i, h in enumerate(window.histories):
        last = impute(h, window.season)[-window.season :]
        out[i] = np.resize(last, window.horizon)
    return out


def take_subset(window: Window, n: int, seed: int = 0) -> Window:
    """`n` series drawn at random (fixed seed), for methods too slow for every series."""
    keep = subset_rows(len(window.ids), n, seed)

    def pick(xs):
        return [xs[i] for i in keep]

    return replace(
        window,
        name=f"{window.name}_subset{n}",
        ids=pick(window.ids),
        starts=pick(window.starts),
        histories=pick(window.histories),
        actuals=window.actuals[keep],
    )
