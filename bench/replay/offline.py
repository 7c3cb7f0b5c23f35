"""The live scores recomputed offline: from the forecasts as the HTTP responses carried them (kept by the
operator, never read back from the store) and the actuals the replay posted (the grid's values on the posted
days), with the definitions service/store/scoring.py's docstring and docs/api.md state:

- window: `start < ds <= end`, `end` the newest posted actual of a forecast series, `start` = end - days;
- a point: a served forecast step with `ds` in the window whose actual was posted; seasonal naive's value for
  it is the actual at `ds - k * season` days, k = ceil(step / season); without that actual the point is out of
  both sides (`no_naive`); a step in the window without its actual is `no_actual`;
- WAPE: sum |y - mean| / sum |y| over the points (naive: |y - naive|);
- MASE: the mean over a group's series of the series' MAE on its points / its scale, the mean |y[t] - y[t-season]|
  over posted pairs with both days in `(scale_start, start]`, scale_start = start - max(days, 2 seasons);
  a series with no pair or a zero scale is out of MASE (`series_without_scale`);
- coverage per level: the share of points with `lower <= y <= upper`.

The result has the shape of the accuracy route's `overall` and `groups` entries, so `compare` reads both alike.
NumPy only: one array entry per served step, grouped with `np.bincount`.
"""

from __future__ import annotations

import math

import numpy as np

from bench.replay.operator import Served
from bench.replay.series import Grid


class Offline:
    """The served steps as flat arrays, each with its actual and naive value; `scores(by)` groups them."""

    def __init__(self, served: Served, grid: Grid, posted: tuple[int, int], season: int, days: int):
        self.season, self.days = season, days
        horizon = len(served.mean[0])
        row_of = {u: row for row, u in enumerate(grid.ids)}
        rows = np.array([row_of[u] for u in served.unique_id])
        origins = np.array([grid.index(day) for day in served.origin])
        # one entry per served step: (entries * horizon,)
        self.row = np.repeat(rows, horizon)
        self.step = np.tile(np.arange(1, horizon + 1), len(rows))
        self.at = np.repeat(origins, horizon) + self.step  # grid index of ds
        self.version = np.repeat(np.array(served.version, dtype=object), horizon)
        self.mean = np.array(served.mean, dtype=np.float64).ravel()
        self.bounds = {
            level: tuple(np.array([pair[side] for pair in pairs], dtype=np.float64).ravel() for side in (0, 1))
            for level, pairs in served.bounds.items()
        }
        self.posted = np.full_like(grid.y, np.nan)  # what the store holds: the posted days' values
        self.posted[:, posted[0] : posted[1] + 1] = grid.y[:, posted[0] : posted[1] + 1]
        self.grid = grid
        self.y = self.actual(self.row, self.at)
        self.naive = self.actual(self.row, self.at - season * -(-self.step // season))
        forecast_rows = np.unique(rows)
        seen = np.flatnonzero(~np.isnan(self.posted[forecast_rows]).all(axis=0))
        self.end = int(seen.max())
        self.start = self.end - days
        self.in_window = (self.at > self.start) & (self.at <= self.end)
        self.scale = self.scales(self.start - max(days, 2 * season), self.start)

    def actual(self, rows: np.ndarray, at: np.ndarray) -> np.ndarray:
        inside = (at >= 0) & (at < self.posted.shape[1])
        return np.where(inside, self.posted[rows, np.clip(at, 0, self.posted.shape[1] - 1)], np.nan)

    def scales(self, low: int, high: int) -> np.ndarray:
        """Per grid row: mean |y[t] - y[t - season]| over posted pairs with both t - season and t in (low, high]."""
        low = max(low, -1)  # nothing is posted before the grid's first day
        now = self.posted[:, low + 1 + self.season : high + 1]
        before = self.posted[:, low + 1 : high + 1 - self.season]
        differences = np.abs(now - before)
        pairs = (~np.isnan(differences)).sum(axis=1)
        with np.errstate(invalid="ignore"):
            scale = np.nansum(differences, axis=1) / pairs
        return np.where((pairs > 0) & (scale > 0), scale, np.nan)

    def keys(self, by: str) -> np.ndarray:
        if by == "version":
            return self.version
        if by == "step":
            return self.step
        if by == "series":
            return np.array(self.grid.ids, dtype=object)[self.row]
        if by == "day":
            days = np.array([self.grid.day(int(i)).isoformat() for i in range(int(self.at.max()) + 1)])
            return days[self.at]
        raise ValueError(f"by must be version, step, series or day, not {by!r}")

    def scores(self, by: str | None) -> dict:
        """{key: scores} by `by`, or {None: the pooled scores} for by=None."""
        keys = np.zeros(len(self.mean), dtype=np.int64) if by is None else self.keys(by)
        names, codes = np.unique(keys[self.in_window], return_inverse=True)
        n = len(names)
        observed = ~np.isnan(self.y[self.in_window])
        has_naive = ~np.isnan(self.naive[self.in_window])
        point = observed & has_naive
        y, mean, naive = (a[self.in_window][point] for a in (self.y, self.mean, self.naive))
        rows, code = self.row[self.in_window][point], codes[point]

        def total(weights=None, where=point, of=codes):
            return np.bincount(of[where], weights, minlength=n)

        count, error = total(), total(np.abs(y - mean))
        size, naive_error = total(np.abs(y)), total(np.abs(y - naive))
        no_actual, no_naive = total(where=~observed), total(where=observed & ~has_naive)
        # MASE: per (group, series) pair, its MAE over its scale; then the mean over a group's pairs with a scale
        pairs, pair_of = np.unique(np.stack([code, rows], axis=1), axis=0, return_inverse=True)
        pair_of = pair_of.reshape(-1)
        pair_count = np.bincount(pair_of, minlength=len(pairs))
        scale = self.scale[pairs[:, 1]]
        has_scale = ~np.isnan(scale)
        mase = np.bincount(pair_of, np.abs(y - mean), minlength=len(pairs)) / pair_count / scale
        naive_mase = np.bincount(pair_of, np.abs(y - naive), minlength=len(pairs)) / pair_count / scale
        series = np.bincount(pairs[:, 0], minlength=n)
        scaled = np.bincount(pairs[:, 0], has_scale.astype(float), minlength=n)
        mase_sum = np.bincount(pairs[has_scale, 0], mase[has_scale], minlength=n)
        naive_mase_sum = np.bincount(pairs[has_scale, 0], naive_mase[has_scale], minlength=n)
        inside = {
            level: total(((lower[self.in_window][point] <= y) & (y <= upper[self.in_window][point])).astype(float))
            for level, (lower, upper) in self.bounds.items()
        }
        out = {}
        for g, name in enumerate(names):
            out[None if by is None else to_python(name)] = {
                "points": int(count[g]),
                "series": int(series[g]),
                "wape": ratio(error[g], size[g]),
                "mase": ratio(mase_sum[g], scaled[g]),
                "coverage": {str(level): ratio(hits[g], count[g]) for level, hits in inside.items() if count[g]},
                "interval_points": {str(level): int(count[g]) for level in inside if count[g]},
                "naive": {"wape": ratio(naive_error[g], size[g]), "mase": ratio(naive_mase_sum[g], scaled[g])},
                "excluded": {
                    "no_actual": int(no_actual[g]),
                    "no_naive": int(no_naive[g]),
                    "series_without_scale": int(series[g] - scaled[g]),
                },
            }
        return out

    def naive_gap(self) -> dict:
        """How far the served forecasts are from seasonal naive's on the window's points: the share that differ by
        more than float32 rounding (a relative 1e-6), and the median relative gap."""
        point = self.in_window & ~np.isnan(self.y) & ~np.isnan(self.naive)
        mean, naive = self.mean[point], self.naive[point]
        gap = np.abs(mean - naive) / np.maximum(np.abs(naive), 1.0)
        return {
            "points": int(point.sum()),
            "differ_share": float(np.mean(gap > 1e-6)),
            "median_relative_gap": float(np.median(gap)),
        }


def ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator > 0 and math.isfinite(numerator) else None


def to_python(value):
    return value.item() if isinstance(value, np.generic) else value


def check() -> None:
    """Self-check (bench.imports) on the hand-worked case of tests/store/test_scoring.py's series A: one
    forecast from day 20 for days 21-22 (mean 18, 14; 80 % interval [15, 17], [15, 16]), window days=7."""
    import datetime as dt

    t = np.arange(28)
    grid = Grid(["A"], dt.date(2019, 1, 1), (10.0 + t % 7 + 2 * (t // 7))[None, :])
    served = Served(["A"], ["v1"], [grid.day(20)], [[18.0, 14.0]], {80: [([15.0, 15.0], [17.0, 16.0])]})
    found = Offline(served, grid, (0, 27), season=7, days=7).scores(None)[None]
    assert (found["points"], found["series"]) == (2, 1)
    assert math.isclose(found["wape"], 5 / 33) and math.isclose(found["naive"]["wape"], 4 / 33)
    assert (found["mase"], found["naive"]["mase"]) == (1.25, 1.0)  # scale: every seasonal difference is 2
    assert found["coverage"] == {"80": 0.5}
