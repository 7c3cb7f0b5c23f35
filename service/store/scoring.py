"""`score(engine, model, season, freq, days, by)`: live accuracy of one model's logged forecasts against the actuals,
and of seasonal naive on the same points.

The window is `days` days back from the newest actual of any series the model has forecast (not the wall
clock, so a backfill of 2019 scores as live data would): `start < ds <= end`. A point is one logged forecast
row whose `ds` is in the window and has an actual; a (unique_id, ds) forecast from several origins is several
points, so pooled numbers weight each actual by how many times it was forecast, as users were served.

Seasonal naive for a point forecast at `origin` for `ds` (`step` steps ahead) is the actual at
`ds - k * season` steps, for the smallest k with that timestamp <= origin (k = ceil(step / season)). A point
whose naive actual is not stored is excluded from both sides and counted (`no_naive`); a forecast in the
window whose own actual is not stored yet is counted too (`no_actual`).

MASE divides each series' mean absolute error by its scale: the seasonal-naive MAE of its stored actuals in
the SCALE span just before the window, `scale_start < ds <= start` (both values of each seasonal pair in the
span), where scale_start is the earlier of `days` days and two seasons before the window start. Before the
window, so the scale does not move with the errors it divides (M4's in-sample scale); as long as the window
and at least two seasons, so every season phase has a difference; bounded, so a refresh reads a bounded slice
of a long history. A series with no pair or a zero scale has no MASE and is counted (`series_without_scale`);
model and naive MASE use the same scale and the same series.

`by="day"` groups the points by the calendar day of their target `ds`, not of their origin: an operator
reading "day D" asks how the forecasts for D did against what happened on D, whichever day they were made
(a day's points then come from up to `horizon` origins, and an hourly model's 24 hours pool into one day).
Each day also counts the logged forecast steps of each version that served it (`versions`, scored or not),
so a page can mark where a new version started serving.

Rows are read in one read transaction (engine.reading), SERIES_CHUNK series at a time (bounded memory); the
join and the window in SQL, the naive lookup and the sums in NumPy.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from sqlalchemy import Connection, Engine, and_, bindparam, func, select

from paxcast.service.core.calendar import step
from paxcast.service.store.engine import reading
from paxcast.service.store.schema import actuals, forecast_intervals, forecasts

By = Literal["version", "series", "step", "day"]
SERIES_CHUNK = 200
# by=day reads `ds` and keys each point by its date in Python: SQLite and PostgreSQL truncate dates differently.
BY_COLUMN = {
    "version": forecasts.c.version,
    "series": forecasts.c.unique_id,
    "step": forecasts.c.step,
    "day": forecasts.c.ds,
}


@dataclass(frozen=True)
class Window:
    """`start < ds <= end`: `days` days back from the newest actual of the model's series."""

    start: dt.datetime
    end: dt.datetime
    days: int


@dataclass
class Scores:
    """One group's scores; None where undefined (no points, a zero denominator, no series with a scale)."""

    points: int = 0
    series: int = 0
    wape: float | None = None
    mase: float | None = None
    coverage: dict[int, float] = field(default_factory=dict)  # level -> share of points inside the interval
    interval_points: dict[int, int] = field(default_factory=dict)  # level -> points with that interval
    naive_wape: float | None = None
    naive_mase: float | None = None
    no_actual: int = 0
    no_naive: int = 0
    series_without_scale: int = 0
    versions: dict[str, int] = field(default_factory=dict)  # by=day: version -> forecast steps served for it


@dataclass
class Accuracy:
    model: str
    by: str
    window: Window | None  # None: no actual stored for any series the model forecast
    groups: dict[object, Scores]  # by value (version, unique_id, step or the date of ds) -> scores
    overall: Scores


def window_of(conn: Connection, model: str, days: int) -> Window | None:
    """The window ending at the newest actual among the series `model` has forecasts for."""
    served = select(forecasts.c.unique_id).where(forecasts.c.model == model).distinct()
    end = conn.execute(select(func.max(actuals.c.ds)).where(actuals.c.unique_id.in_(served))).scalar_one()
    return None if end is None else Window(end - dt.timedelta(days=days), end, days)


def scale_start(window: Window, freq: str, season: int) -> dt.datetime:
    return min(window.start - dt.timedelta(days=window.days), step(window.start, freq, -2 * season))


def score(engine: Engine, model: str, season: int, freq: str, days: int, by: By = "version") -> Accuracy:
    """Scores of `model` (its card's `season` and `freq`) over the last `days` days, grouped `by`."""
    with reading(engine) as conn:
        window = window_of(conn, model, days)
        totals = Totals()
        if window is not None:
            in_window = and_(forecasts.c.model == model, forecasts.c.ds > window.start, forecasts.c.ds <= window.end)
            series = sorted(conn.execute(select(forecasts.c.unique_id).where(in_window).distinct()).scalars())
            for first in range(0, len(series), SERIES_CHUNK):
                chunk = series[first : first + SERIES_CHUNK]
                score_chunk(conn, totals, chunk, in_window, window, season, freq, by)
    return Accuracy(model, by, window, totals.groups(), totals.overall())


def shifted(stamps: np.ndarray, freq: str, periods: np.ndarray) -> np.ndarray:
    """`stamps` (datetime64[us]) each moved by its `periods` steps of `freq`; computed once per distinct pair."""
    pairs, inverse = np.unique(
        np.stack([stamps.astype(np.int64), periods.astype(np.int64)], axis=1), axis=0, return_inverse=True
    )
    moved = [step(np.datetime64(int(us), "us").astype(dt.datetime), freq, int(n)) for us, n in pairs]
    return np.array(moved, dtype="datetime64[us]")[inverse.reshape(-1)]


def score_chunk(conn, totals, chunk, in_window, window: Window, season: int, freq: str, by: By) -> None:
    """Add the points of the series in `chunk` to `totals`."""
    joined = forecasts.outerjoin(
        actuals, and_(actuals.c.unique_id == forecasts.c.unique_id, actuals.c.ds == forecasts.c.ds)
    )
    mine = and_(in_window, forecasts.c.unique_id.in_(bindparam("chunk", expanding=True)))
    query = (
        select(
            forecasts.c.id,
            forecasts.c.unique_id,
            BY_COLUMN[by],
            forecasts.c.ds,
            forecasts.c.step,
            forecasts.c.mean,
            actuals.c.y,
            forecasts.c.version,
        )
        .select_from(joined)
        .where(mine)
        .order_by(forecasts.c.id)
    )
    rows = list(map(tuple, conn.execute(query, {"chunk": chunk}).all()))  # plain tuples: NumPy probes a Row per field
    if not rows:
        return
    ids, unique_ids, keys, stamps, steps, means, ys, versions = zip(*rows, strict=True)
    if by == "day":
        keys = np.array(keys, dtype="datetime64[us]").astype("datetime64[D]").astype(object)  # datetime.date
        totals.add_served(keys, versions)
    observed = np.array([y is not None for y in ys])
    for key in np.array(keys, dtype=object)[~observed]:
        totals.group(key).no_actual += 1
    ids = np.array(ids, dtype=np.int64)[observed]
    unique_ids = np.array(unique_ids, dtype=object)[observed]
    keys = np.array(keys, dtype=object)[observed]
    stamps = np.array(stamps, dtype="datetime64[us]")[observed]
    steps = np.array(steps, dtype=np.int64)[observed]
    means = np.array(means, dtype=np.float64)[observed]
    ys = np.array([y for y in ys if y is not None], dtype=np.float64)
    if not len(ys):
        return
    naive_stamps = shifted(stamps, freq, -season * -(-steps // season))  # k = ceil(step / season)
    low = min(naive_stamps.min().astype(dt.datetime), scale_start(window, freq, season))
    stored = stored_actuals(conn, chunk, low, window.end)
    naive = np.array([stored.get((u, s), math.nan) for u, s in zip(unique_ids, naive_stamps.tolist(), strict=True)])
    has_naive = ~np.isnan(naive)
    for key in keys[~has_naive]:
        totals.group(key).no_naive += 1
    kept = np.flatnonzero(has_naive)
    totals.add_points(keys[kept], unique_ids[kept], ys[kept], means[kept], naive[kept])
    levels = interval_rows(conn, chunk, in_window)
    if len(levels):
        # the interval rows of the kept points only: a point without a naive value is out of every score
        position = np.searchsorted(ids[kept], levels[:, 0].astype(np.int64))
        found = (position < len(kept)) & (ids[kept][np.minimum(position, len(kept) - 1)] == levels[:, 0])
        at = kept[position[found]]
        inside = (levels[found, 2] <= ys[at]) & (ys[at] <= levels[found, 3])
        totals.add_intervals(keys[at], levels[found, 1].astype(np.int64), inside)
    totals.add_scales(series_scales(stored, chunk, scale_start(window, freq, season), window.start, freq, season))


def stored_actuals(conn, chunk, low: dt.datetime, high: dt.datetime) -> dict[tuple[str, dt.datetime], float]:
    """{(unique_id, ds): y} of the chunk's series with `low <= ds <= high`."""
    query = select(actuals.c.unique_id, actuals.c.ds, actuals.c.y).where(
        actuals.c.unique_id.in_(bindparam("chunk", expanding=True)), actuals.c.ds >= low, actuals.c.ds <= high
    )
    return {(u, ds): y for u, ds, y in conn.execute(query, {"chunk": chunk})}


def bounds_of(*where):
    """SELECT (forecast_id, level, lower, upper) of the interval bounds of the forecast rows `where` selects."""
    return (
        select(
            forecast_intervals.c.forecast_id,
            forecast_intervals.c.level,
            forecast_intervals.c.lower,
            forecast_intervals.c.upper,
        )
        .join(forecasts, forecasts.c.id == forecast_intervals.c.forecast_id)
        .where(*where)
    )


def interval_rows(conn, chunk, in_window) -> np.ndarray:
    """(forecast_id, level, lower, upper) rows of the chunk's forecasts in the window, ordered by forecast id."""
    query = bounds_of(in_window, forecasts.c.unique_id.in_(bindparam("chunk", expanding=True))).order_by(
        forecast_intervals.c.forecast_id
    )
    rows = list(map(tuple, conn.execute(query, {"chunk": chunk}).all()))  # NumPy probes a Row field by field
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def series_scales(stored, chunk, low, high, freq: str, season: int) -> dict[str, float | None]:
    """Each series' mean |y[t] - y[t - season]| over pairs with both values in `low < ds <= high`."""
    span = [(u, ds, y) for (u, ds), y in stored.items() if low < ds <= high]
    scales: dict[str, float | None] = {u: None for u in chunk}
    if not span:
        return scales
    stamps = np.array([ds for _, ds, _ in span], dtype="datetime64[us]")
    lagged = shifted(stamps, freq, np.full(len(span), -season)).tolist()
    differences: dict[str, list[float]] = {}
    for (u, _, y), before in zip(span, lagged, strict=True):
        if before > low and (u, before) in stored:
            differences.setdefault(u, []).append(abs(y - stored[(u, before)]))
    for u, values in differences.items():
        scale = float(np.mean(values))
        scales[u] = scale if scale > 0 else None
    return scales


class Totals:
    """Running sums per group and series, coverage per group and level, exclusions per group; scales per series."""

    def __init__(self) -> None:
        self.sums: dict[object, dict[str, np.ndarray]] = {}  # group -> series -> n, sum|e|, sum|y|, sum|naive e|
        self.hits: dict[object, dict[int, np.ndarray]] = {}  # group -> level -> inside, with an interval
        self.excluded: dict[object, Scores] = {}  # group -> its no_actual and no_naive counts
        self.scales: dict[str, float | None] = {}
        self.served: dict[object, dict[str, int]] = {}  # by=day: group -> version -> forecast steps

    def group(self, key) -> Scores:
        key = to_python(key)
        self.sums.setdefault(key, {})
        return self.excluded.setdefault(key, Scores())

    def add_points(self, keys, unique_ids, ys, means, naive) -> None:
        pairs = list(zip(map(to_python, keys), unique_ids, strict=True))
        index = {pair: i for i, pair in enumerate(dict.fromkeys(pairs))}
        codes = np.fromiter((index[p] for p in pairs), dtype=np.int64, count=len(pairs))
        columns = [np.ones(len(ys)), np.abs(ys - means), np.abs(ys), np.abs(ys - naive)]
        sums = np.stack([np.bincount(codes, c, minlength=len(index)) for c in columns], axis=1)
        for (key, unique_id), i in index.items():
            series = self.sums.setdefault(key, {})
            series[unique_id] = series.get(unique_id, 0) + sums[i]

    def add_intervals(self, keys, levels, inside) -> None:
        names = list(dict.fromkeys(map(to_python, keys)))
        index = {key: i for i, key in enumerate(names)}
        codes = np.fromiter((index[to_python(k)] for k in keys), dtype=np.int64, count=len(keys))
        pairs, inverse = np.unique(np.stack([codes, levels], axis=1), axis=0, return_inverse=True)
        hits = np.bincount(inverse.reshape(-1), inside.astype(np.float64), minlength=len(pairs))
        counts = np.bincount(inverse.reshape(-1), minlength=len(pairs))
        for (code, level), hit, count in zip(pairs.tolist(), hits, counts, strict=True):
            found = self.hits.setdefault(names[code], {}).setdefault(level, np.zeros(2))
            found += (hit, count)

    def add_served(self, keys, versions) -> None:
        for (key, version), n in Counter(zip(keys, versions, strict=True)).items():
            counts = self.served.setdefault(key, {})
            counts[version] = counts.get(version, 0) + n

    def add_scales(self, scales: dict[str, float | None]) -> None:
        self.scales.update(scales)

    def groups(self) -> dict[object, Scores]:
        keys = dict.fromkeys([*self.sums, *self.hits, *self.excluded, *self.served])
        found = {
            key: self.scores([self.sums.get(key, {})], [self.hits.get(key, {})], [self.excluded.get(key, Scores())])
            for key in keys
        }
        for key, versions in self.served.items():
            found[key].versions = dict(sorted(versions.items()))
        return found

    def overall(self) -> Scores:
        return self.scores(list(self.sums.values()), list(self.hits.values()), list(self.excluded.values()))

    def scores(self, sums: list[dict], hits: list[dict], excluded: list[Scores]) -> Scores:
        """The scores of the groups whose sums, hits and exclusions are given, pooled."""
        per_series: dict[str, np.ndarray] = {}
        for group in sums:
            for unique_id, values in group.items():
                per_series[unique_id] = per_series.get(unique_id, 0) + values
        out = Scores(no_actual=sum(e.no_actual for e in excluded), no_naive=sum(e.no_naive for e in excluded))
        if per_series:
            n, error, size, naive = np.sum(list(per_series.values()), axis=0)
            out.points, out.series = int(n), len(per_series)
            out.wape, out.naive_wape = ratio(error, size), ratio(naive, size)
            scaled = [
                (s[1] / s[0] / self.scales[u], s[3] / s[0] / self.scales[u])
                for u, s in per_series.items()
                if self.scales.get(u)
            ]
            out.series_without_scale = len(per_series) - len(scaled)
            if scaled:
                out.mase, out.naive_mase = (float(v) for v in np.mean(scaled, axis=0))
        counts: dict[int, np.ndarray] = {}
        for group in hits:
            for level, values in group.items():
                counts[level] = counts.get(level, 0) + values
        out.coverage = {level: float(c[0] / c[1]) for level, c in sorted(counts.items())}
        out.interval_points = {level: int(c[1]) for level, c in sorted(counts.items())}
        return out


def ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator > 0 else None


def to_python(value):
    """A NumPy scalar as the plain value (a step as int), so group keys compare and serialise as they read."""
    return value.item() if isinstance(value, np.generic) else value


def worst_first(groups: Iterable[tuple[object, Scores]]) -> list[tuple[object, Scores]]:
    """Series by MASE, highest first (those without a MASE last, by WAPE), then by id."""
    return sorted(groups, key=lambda g: (g[1].mase is None, -(g[1].mase or 0), -(g[1].wape or 0), str(g[0])))
