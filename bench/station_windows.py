"""The station backtest windows of issue 10 and how every method on them is scored.

A `Window` is one forecast origin over a multi-series file: each series' history up to and
including the origin (NaN where the file has no row) and the next `horizon` actuals. Scoring
is on observed actuals only; methods that need complete histories get `impute()`'d copies.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from paxcast.service.covariates import timestamps
from paxcast.training.data import read_series

ROOT = Path(__file__).resolve().parents[1]
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


def impute(history: np.ndarray, season: int) -> np.ndarray:
    """A complete copy for methods that cannot take NaN: each gap gets the value one `season` earlier
    (repeated across long gaps), a gap in the first season the next observed value. Baselines only."""
    y = history.copy()
    for i in np.flatnonzero(np.isnan(y)):
        if i >= season and np.isfinite(y[i - season]):
            y[i] = y[i - season]
    if np.isnan(y).any():  # gaps in the first season: back-fill
        idx = np.where(np.isfinite(y), np.arange(len(y)), len(y))
        nxt = np.minimum.accumulate(idx[::-1])[::-1]
        y = y[np.minimum(nxt, len(y) - 1)]
    return y


def mase_scale(history: np.ndarray, season: int) -> float:
    """Mean absolute seasonal difference over the history's observed pairs."""
    d = np.abs(history[season:] - history[:-season])
    return float(np.nanmean(d))


def score(window: Window, mean: np.ndarray, intervals: dict[int, tuple[np.ndarray, np.ndarray]] | None = None) -> dict:
    """Pooled WAPE, per-series MASE (mean, median, p90), interval coverage and width, on observed actuals.

    Args:
        mean: forecasts of shape (n, horizon), rows in `window.ids` order.
        intervals: level -> (lower, upper), each (n, horizon).
    """
    y = window.actuals
    seen = np.isfinite(y)
    err = np.abs(mean - y)
    if not np.isfinite(mean[seen]).all():
        raise ValueError(f"{window.name}: forecasts have non-finite values where actuals exist")
    wape = float(err[seen].sum() / np.abs(y[seen]).sum() * 100)
    scales = np.array([mase_scale(h, window.season) for h in window.histories])
    per_series = np.array([np.nanmean(np.where(seen[i], err[i], np.nan)) for i in range(len(y))]) / scales
    out = {
        "series": len(y),
        "points": int(seen.sum()),
        "wape_pct": wape,
        "mase_mean": float(per_series.mean()),
        "mase_median": float(np.median(per_series)),
        "mase_p90": float(np.percentile(per_series, 90)),
    }
    for level, (lo, hi) in (intervals or {}).items():
        inside = (y[seen] >= lo[seen]) & (y[seen] <= hi[seen])
        out[f"cov{level}_pct"] = float(inside.mean() * 100)
        out[f"width{level}_pct"] = float((hi[seen] - lo[seen]).sum() / np.abs(y[seen]).sum() * 100)
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


def subset_rows(total: int, n: int, seed: int = 0) -> np.ndarray:
    """The sorted row indices `take_subset` keeps."""
    return np.sort(np.random.default_rng(seed).choice(total, size=min(n, total), replace=False))
