"""Where a multi-series backtest cuts a file: every series at one timestamp, its history up to it, actuals after.

An origin is the last history point (inclusive), a timestamp on the file's grid. Each series is
cut there: its values up to the origin (NaN where the file has no row) are the history, the
next `horizon` grid points the actuals (NaN where missing; scoring uses observed actuals only).
Training sees every series that has a value at or before the origin, as `paxcast train` would on
the file as it stood then; scoring drops, and counts, the series it cannot judge fairly.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

import numpy as np

from paxcast.service.core.calendar import FREQ_NAMES, iso, parse_timestamp, step
from paxcast.service.core.exceptions import DataError, UsageError
from paxcast.training.data import Series

# Why a series is left out of a cut's scores.
NO_HISTORY, SHORT_HISTORY, NO_ACTUAL = "no_history", "short_history", "no_actual"
# `--origins last7@23:00`: the day-ahead protocol, one origin a day at that hour over the last days.
DAILY_AT = re.compile(r"last(\d+)@(.*)")


@dataclass
class Cut:
    """One origin over a multi-series file: the scored series and what training sees.

    `histories[i]` (t_i,) ends at the origin; `actuals` is (n, horizon); both NaN where missing.
    """

    origin: dt.datetime
    freq: str
    horizon: int
    ids: list[str]
    histories: list[np.ndarray]
    actuals: np.ndarray
    past: list[Series]  # every series with a value at or before the origin, cut there: the training data
    dropped: dict[str, int]
    ends: list[dt.datetime] | None = None  # each scored history's last timestamp (None: all at the origin)
    name: str | None = None  # the label of a cut that is not one timestamp (the official test split)

    @property
    def label(self) -> str:
        return self.name or iso(self.origin)

    def end(self, row: int) -> dt.datetime:
        """The last history timestamp of scored series `row`."""
        return self.origin if self.ends is None else self.ends[row]


def series_end(s: Series) -> dt.datetime:
    return s.timestamp(len(s.y) - 1)


def position(s: Series, when: dt.datetime) -> int:
    """Index of `when` in `s.y` (negative before its start); `when` must be on the grid."""
    start = parse_timestamp(s.start)
    if s.freq in ("MS", "QS", "YS"):
        months = (when.year - start.year) * 12 + when.month - start.month
        return months // {"MS": 1, "QS": 3, "YS": 12}[s.freq]
    return int((when - start) // (step(start, s.freq) - start))


def on_grid(s: Series, when: dt.datetime) -> bool:
    return s.timestamp(position(s, when)) == when


def parse_origins(text: str, series: list[Series], horizon: int) -> list[dt.datetime]:
    """`--origins 2019-11-30,2020-09-02`: sorted timestamps on the file's grid, each with data before and after.

    `--origins last7@23:00` (hourly data): the last 7 days' 23:00, each an origin whose whole horizon is in the
    data (`daily_origins_at`).

    UsageError (exit 2) for text that is not a timestamp or is off the grid; DataError (exit 3)
    for an origin before the data, or one after which no series has an actual.
    """
    daily = DAILY_AT.fullmatch(text.strip())
    if daily:
        return daily_origins_at(text, int(daily.group(1)), daily.group(2), series, horizon)
    first = min(series, key=lambda s: parse_timestamp(s.start))
    start, end = parse_timestamp(first.start), max(series_end(s) for s in series)
    origins = []
    for part in text.split(","):
        try:
            when = parse_timestamp(part)
        except ValueError:
            raise UsageError(
                f"--origins {text!r}: {part.strip()!r} is not an ISO date or date-time (e.g. 2019-11-30)"
            ) from None
        if not on_grid(first, when):
            raise UsageError(
                f"--origins {text!r}: {iso(when)} is not on the {FREQ_NAMES[first.freq]} grid of the data "
                f"(series '{first.id}' starts {first.start})"
            )
        if when < start:
            raise DataError(f"--origins: {iso(when)} is before the data, which starts {iso(start)}")
        if when >= end:
            raise DataError(f"--origins: {iso(when)} leaves no actual to score; the data ends {iso(end)}")
        origins.append(when)
    if len(set(origins)) != len(origins):
        raise UsageError(f"--origins {text!r}: an origin is repeated")
    return sorted(origins)


def daily_origins_at(text: str, count: int, hour: str, series: list[Series], horizon: int) -> list[dt.datetime]:
    """The last `count` days' `hour` (HH:MM) on the data's hourly grid whose `horizon` steps all lie within the
    data: day-ahead forecasts made each evening over the last week, as an operator would make them."""
    if series[0].freq != "h":
        raise UsageError(
            f"--origins {text!r}: daily origins at an hour need hourly data; this file is {FREQ_NAMES[series[0].freq]}"
        )
    if count < 1:
        raise UsageError(f"--origins {text!r}: ask for at least one origin")
    try:
        at = dt.time.fromisoformat(hour)
    except ValueError:
        raise UsageError(f"--origins {text!r}: {hour!r} is not an hour of the day (HH:MM, 00:00-23:00)") from None
    first = min(series, key=lambda s: parse_timestamp(s.start))
    end = max(series_end(s) for s in series)
    last = dt.datetime.combine(end.date(), at)
    while step(last, "h", horizon) > end:  # the horizon after `last` must end at or before the data's end
        last -= dt.timedelta(days=1)
    origins = [last - dt.timedelta(days=k) for k in range(count - 1, -1, -1)]
    if not on_grid(first, origins[0]):
        raise UsageError(
            f"--origins {text!r}: {at:%H:%M} is not on the hourly grid of the data (series '{first.id}' starts "
            f"{first.start})"
        )
    if origins[0] < parse_timestamp(first.start):
        raise DataError(
            f"--origins {text!r}: the first of {count} origins, {iso(origins[0])}, is before the data, which "
            f"starts {first.start}"
        )
    return origins


def keep_last_days(series: list[Series], days: int) -> list[Series]:
    """Every series cut to its values in the file's last `days` days (those ending before them dropped):
    a network with a few weeks of history made from one with years of it (`paxcast backtest --last-days`)."""
    if days < 1:
        raise UsageError(f"--last-days {days} must be at least 1")
    end = max(series_end(s) for s in series)
    since = end - dt.timedelta(days=days) + (step(end, series[0].freq, 1) - end)  # the first kept timestamp
    kept = []
    for s in series:
        if series_end(s) < since:
            continue
        k = max(0, position(s, since))
        kept.append(replace(s, start=iso(s.timestamp(k), s.freq), y=s.y[k:]))
    return kept


def default_origins(series: list[Series], horizon: int) -> list[dt.datetime]:
    """The origins whose horizons are the data's last two: end - 2 x horizon and end - horizon."""
    end = max(series_end(s) for s in series)
    return [step(end, series[0].freq, -2 * horizon), step(end, series[0].freq, -horizon)]


def cut(series: list[Series], origin: dt.datetime, horizon: int, window: int, season: int) -> Cut:
    """Cut every series at `origin`; score those with `window` steps of history, two seasons of observed
    values (MASE's scale) and at least one observed actual."""
    ids, histories, actuals, past = [], [], [], []
    dropped = {NO_HISTORY: 0, SHORT_HISTORY: 0, NO_ACTUAL: 0}
    for s in series:
        k = position(s, origin)
        if k < 0:
            dropped[NO_HISTORY] += 1
            continue
        history = s.y[: k + 1]
        # What `paxcast train` would read from the file as it stood at the origin: no trailing gap.
        past.append(replace(s, y=history[: np.flatnonzero(np.isfinite(history))[-1] + 1]))
        actual = np.full(horizon, np.nan)
        tail = s.y[k + 1 : k + 1 + horizon]
        actual[: len(tail)] = tail
        if len(history) < window or np.isfinite(history).sum() < 2 * season:
            dropped[SHORT_HISTORY] += 1
        elif not np.isfinite(actual).any():
            dropped[NO_ACTUAL] += 1
        else:
            ids.append(s.id), histories.append(history), actuals.append(actual)
    if not ids:
        raise DataError(
            f"--origins: at {iso(origin)} no series has {window} steps of history and an actual after it "
            f"(dropped: {dropped})"
        )
    return Cut(origin, series[0].freq, horizon, ids, histories, np.stack(actuals), past, dropped)


def split_cut(train: list[Series], test: list[Series], test_path: str, shortest: int, season: int) -> Cut:
    """The official split of a competition: each series' history is its training file, its actuals the test
    file's values of the same id, which must start the step after the history ends and share one horizon."""
    future = {s.id: s for s in test}
    horizons = {len(s.y) for s in test}
    if len(horizons) != 1:
        raise DataError(f"{test_path}: every series must hold the same horizon; found lengths {sorted(horizons)}")
    (horizon,) = horizons
    ids, histories, actuals, ends = [], [], [], []
    dropped = {NO_HISTORY: 0, SHORT_HISTORY: 0, NO_ACTUAL: 0}
    for s in train:
        if s.id not in future:
            dropped[NO_ACTUAL] += 1
            continue
        end, first = series_end(s), parse_timestamp(future[s.id].start)
        if first != step(end, s.freq, 1):
            raise DataError(
                f"{test_path}: series '{s.id}' starts {iso(first)}; its training history ends {iso(end)}, so the "
                f"test should start {iso(step(end, s.freq, 1))}"
            )
        if len(s.y) < shortest or np.isfinite(s.y).sum() < 2 * season:
            dropped[SHORT_HISTORY] += 1
            continue
        ids.append(s.id), histories.append(s.y), actuals.append(future[s.id].y), ends.append(end)
    unknown = sorted(set(future) - {s.id for s in train})
    if unknown:
        raise DataError(f"{test_path}: series '{unknown[0]}' is not in the training file")
    if not ids:
        raise DataError(f"{test_path}: no series has {shortest} steps of history and a test horizon")
    return Cut(max(ends), train[0].freq, horizon, ids, histories, np.stack(actuals), train, dropped, ends, "test split")


def impute(history: np.ndarray, season: int) -> np.ndarray:
    """A complete copy for inputs that cannot take NaN (the service's history, statsforecast): each gap
    gets the value one `season` earlier (repeated across long gaps), a gap in the first season the next
    observed value."""
    y = history.copy()
    for i in np.flatnonzero(np.isnan(y)):
        if i >= season and np.isfinite(y[i - season]):
            y[i] = y[i - season]
    if np.isnan(y).any():  # gaps in the first season: back-fill
        idx = np.where(np.isfinite(y), np.arange(len(y)), len(y))
        nxt = np.minimum.accumulate(idx[::-1])[::-1]
        y = y[np.minimum(nxt, len(y) - 1)]
    return y


def subset_rows(total: int, n: int, seed: int = 0) -> np.ndarray:
    """`n` of `total` rows drawn at random (fixed seed), sorted: the series slow methods run on."""
    return np.sort(np.random.default_rng(seed).choice(total, size=min(n, total), replace=False))
