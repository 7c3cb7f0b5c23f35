"""Where a global model's validation windows come from: every series on one shared time grid, and the last
horizons of each series cut into (history, calendar, target) windows the training never sees.

The last `origins x horizon` values of each series are validation (`validation_origins`); a validation window
with a gap in its history is skipped and counted (a padded graph keeps what follows the gap when that is at least
its shortest history), a missing target stays NaN (masked when scored).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from paxcast.service.core.calendar import parse_timestamp, step
from paxcast.service.core.covariates import Calendar
from paxcast.service.core.exceptions import DataError
from paxcast.service.core.hyperparameters import GlobalTrainConfig
from paxcast.training.data import Series

# Validation windows wanted across all series: few series get more origins (up to MAX_ORIGINS).
VALIDATION_WINDOWS, MAX_ORIGINS = 256, 4
# And at least this many steps of horizons, room permitting: hourly, a week, so that a day-ahead model is judged
# on every weekday, not on the last four days (issue 32). A week ahead or longer needs one horizon: unchanged.
VALIDATION_SPAN = {"h": 168}


@dataclass
class Timeline:
    """Series placed on one shared grid: `offsets[i]` is series i's first step; `covariates` (steps, features)."""

    first: np.datetime64
    offsets: list[int]
    covariates: np.ndarray


@dataclass
class ValidationWindows:
    """Validation windows: history (n, W), calendar (n, W+H, F), target (n, H) with NaN where missing."""

    history: np.ndarray
    calendar: np.ndarray
    target: np.ndarray
    origins: list[int]  # steps back from each series' end where a validation window's horizon starts
    skipped: int  # windows left out because their history has a gap


def grid_offset(first: np.datetime64, when: np.datetime64, freq: str) -> int:
    """Whole `freq` steps from `first` to `when`."""
    if freq in ("MS", "QS", "YS"):
        months = int(when.astype("datetime64[M]").astype(int) - first.astype("datetime64[M]").astype(int))
        return months // {"MS": 1, "QS": 3, "YS": 12}[freq]
    unit = {"h": 3600, "D": 86400, "W": 7 * 86400}[freq]
    return int((when - first) / np.timedelta64(unit, "s"))


def timeline(series: list[Series], calendar: Calendar, horizon: int, lead: int = 0) -> Timeline:
    """The shared grid of `series` and its covariates, from `lead` steps before the first value (the calendar
    of padded windows) to `horizon` steps past the last."""

    starts = [np.datetime64(s.start, "s") for s in series]
    earliest = series[int(np.argmin(starts))]
    try:
        first = np.datetime64(step(parse_timestamp(str(min(starts))), calendar.freq, -lead), "s")
    except (ValueError, OverflowError):  # a padded window reaches back before year 1
        raise DataError(
            f"series '{earliest.id}' starts {earliest.start[:10]}: the model reads {lead} steps before a series' "
            "first value, which passes year 1, the first year dates can name; give its real dates"
        ) from None
    offsets = [grid_offset(first, start, calendar.freq) for start in starts]
    steps = max(o + len(s.y) for o, s in zip(offsets, series, strict=True)) + horizon
    return Timeline(first, offsets, calendar.windows(np.array([first]), steps)[0])


def validation_origins(series: list[Series], config: GlobalTrainConfig) -> list[int]:
    """Steps back from the end where validation horizons start: enough windows to judge and calibrate,
    but never so many that the longest series keeps no training window before them (a file of ten
    120-month series gets three horizons of 24 rather than being refused for want of a fourth)."""
    wanted = min(MAX_ORIGINS, max(1, math.ceil(VALIDATION_WINDOWS / len(series))))
    wanted = max(wanted, math.ceil(VALIDATION_SPAN.get(series[0].freq, 0) / config.horizon))
    room = max(len(s.y) for s in series) - config.shortest - config.horizon
    count = max(1, min(wanted, room // config.horizon))
    return [config.horizon * k for k in range(1, count + 1)]


def validation_windows(series: list[Series], line: Timeline, config: GlobalTrainConfig) -> ValidationWindows:
    W, H = config.window, config.horizon
    origins = validation_origins(series, config)
    history, calendar, target, skipped = [], [], [], 0
    for s, offset in zip(series, line.offsets, strict=True):
        for back in origins:
            end = len(s.y) - back  # the validation horizon is y[end : end + H]
            if end < config.shortest:
                continue
            seen = s.y[max(0, end - W) : end]
            gaps = np.flatnonzero(np.isnan(seen))
            if len(gaps) and (not config.pads or len(seen) - gaps[-1] - 1 < config.shortest):
                skipped += 1
                continue
            if len(gaps):  # a padded graph reads what follows the gap as a short history
                seen = seen[gaps[-1] + 1 :]
            padded = np.concatenate([np.full(W - len(seen), np.nan), seen])
            history.append(padded)
            target.append(s.y[end : end + H])
            calendar.append(line.covariates[offset + end - W : offset + end + H])
    if not history:
        raise ValueError(f"no series has {config.shortest + H * origins[-1]} values for a validation window")
    f32 = lambda rows: np.stack(rows).astype(np.float32)  # noqa: E731
    return ValidationWindows(f32(history), f32(calendar), f32(target), origins, skipped)
