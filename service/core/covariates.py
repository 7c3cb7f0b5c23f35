"""Future-known calendar covariates: one float32 matrix per run of timestamps, named columns.

Training and the service both import this module (NumPy, the standard library and the
`holidays` package; no torch), so the features a model learnt from are the features it
is served. Timestamps are naive local wall-clock time (Melbourne's counts are local, so a
Monday-08:00 peak is Monday 08:00 whatever the UTC offset).

Columns by frequency (`Calendar.names`):

- `dow_mon` .. `dow_sun` (daily, hourly): day-of-week one-hot. Not sin/cos: a weekly
  passenger profile is not a sinusoid (Saturday and Sunday fall off a flat weekday plateau,
  Friday is its own case), and on a circle Saturday sits halfway between Friday and Sunday.
  One-hot lets even a linear head learn any weekly shape, for 5 extra columns.
- `hour_sin1`, `hour_cos1`, `hour_sin2`, `hour_cos2` (hourly): the first two harmonics of
  the hour of day; the second harmonic gives the two commuter peaks.
- `year_sin`, `year_cos` (all but yearly): position in the year, day of year / days in year.
- `holiday`, `before_holiday`, `after_holiday` (daily, hourly; only with a holiday source):
  the date is a public holiday, the next date is, the previous date is.
- `offday` (daily, hourly; only with a holiday source that knows a make-up workday, `day_sources`): the date is
  not worked, a holiday or a weekend day not swapped for a workday. Elsewhere it would copy `dow_*` and `holiday`,
  and a column more would change the calendar every card of KR, AU or IN was trained with (`Calendar.of`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paxcast.service.core.calendar import FIXED_STEPS, MONTH_STEPS, add_months, parse_timestamp
from paxcast.service.core.contract import CalendarSpec
from paxcast.service.core.day_sources import (
    NO_DATES,
    CalendarError,
    Days,
    check_country,
    country_days,
    read_day_file,
)

DOW_NAMES = ("dow_mon", "dow_tue", "dow_wed", "dow_thu", "dow_fri", "dow_sat", "dow_sun")
HOUR_NAMES = ("hour_sin1", "hour_cos1", "hour_sin2", "hour_cos2")
YEAR_NAMES = ("year_sin", "year_cos")
HOLIDAY_NAMES = ("holiday", "before_holiday", "after_holiday")
OFFDAY = "offday"
SUB_WEEKLY = ("h", "D")
# The years a holiday country's table covers, and so the years a served model with one forecasts in.
HOLIDAY_YEARS = (1900, 2199)


class Calendar:
    """The covariates of one frequency and one holiday source.

    Args:
        freq: one of `paxcast.service.core.calendar.FREQUENCIES` ("h", "D", "W", "MS", "QS", "YS").
        country: ISO 3166 code for the `holidays` package, e.g. "KR" or "AU".
        subdiv: a subdivision of `country`, e.g. "VIC".
        holiday_csv: a file with a `ds` column of ISO dates and an optional `type` column (`holiday` or `workday`,
            `day_sources.read_day_file`); instead of `country`.
        holiday_dates: that file's holidays themselves (a model card embeds them), instead of the file.
        workday_dates: and its make-up workdays.
        offday: whether to add the `offday` column. None: when the source knows a make-up workday. A card says
            (`Calendar.of`), so a holidays package that learns a country's swaps later changes no trained model.
    """

    def __init__(
        self,
        freq: str,
        country: str | None = None,
        subdiv: str | None = None,
        holiday_csv: str | Path | None = None,
        holiday_dates: list[dt.date] | None = None,
        workday_dates: list[dt.date] | None = None,
        offday: bool | None = None,
    ):
        if freq not in ("h", "D", "W", "MS", "QS", "YS"):
            raise CalendarError(f"unknown frequency {freq!r}; expected one of h, D, W, MS, QS, YS")
        if country and holiday_csv:
            raise CalendarError("give a holiday country or a holiday CSV, not both")
        if subdiv and not country:
            raise CalendarError(f"subdivision {subdiv!r} needs a country")
        self.freq, self.country, self.subdiv = freq, country, subdiv
        self._fixed: Days | None = read_day_file(Path(holiday_csv)) if holiday_csv else None
        if holiday_dates is not None:
            self._fixed = Days.of_dates(holiday_dates, workday_dates)
        self._country_table: Days | None = None  # the holidays package's answers for HOLIDAY_YEARS
        if country:
            check_country(country, subdiv)
        names = []
        if freq in SUB_WEEKLY:
            names += DOW_NAMES
        if freq == "h":
            names += HOUR_NAMES
        if freq != "YS":
            names += YEAR_NAMES
        if freq in SUB_WEEKLY and (country or self._fixed is not None):
            names += HOLIDAY_NAMES
            if offday is None:  # only where it says more than `dow_*` and `holiday` do
                source = self._fixed if self._fixed is not None else self.country_table()
                offday = len(source.workdays) > 0
            if offday:
                names.append(OFFDAY)
        self.names: tuple[str, ...] = tuple(names)

    @property
    def has_holidays(self) -> bool:
        """Whether the columns include holidays: only then is the calendar bound to HOLIDAY_YEARS."""
        return "holiday" in self.names

    def features(self, timestamps: np.ndarray) -> np.ndarray:
        """Covariates of `timestamps` (n,) datetime64 as float32 (n, len(self.names))."""
        ds = np.asarray(timestamps, dtype="datetime64[s]")
        days = ds.astype("datetime64[D]")
        columns = []
        dow = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        if self.freq in SUB_WEEKLY:
            columns += [dow == k for k in range(7)]
        if self.freq == "h":
            angle = 2 * np.pi * (ds - days).astype(np.int64) / 86400
            columns += [np.sin(angle), np.cos(angle), np.sin(2 * angle), np.cos(2 * angle)]
        if self.freq != "YS":
            year_start = days.astype("datetime64[Y]")
            year_days = ((year_start + 1).astype("datetime64[D]") - year_start.astype("datetime64[D]")).astype(np.int64)
            angle = 2 * np.pi * (ds - year_start.astype("datetime64[s]")).astype(np.int64) / (86400 * year_days)
            columns += [np.sin(angle), np.cos(angle)]
        if "holiday" in self.names:
            self._check_coverage(days)
            known = self.days(days.min() - 1, days.max() + 1) if len(days) else Days(NO_DATES)
            holiday = np.isin(days, known.holidays)
            columns += [holiday, np.isin(days + 1, known.holidays), np.isin(days - 1, known.holidays)]
            if OFFDAY in self.names:
                columns.append(holiday | (np.isin(dow, known.weekend) & ~np.isin(days, known.workdays)))
        if not columns:
            return np.zeros((len(ds), 0), dtype=np.float32)
        return np.stack(columns, axis=1).astype(np.float32)

    def days(self, first: np.datetime64, last: np.datetime64) -> Days:
        """The holidays and make-up workdays from `first` to `last` (inclusive)."""
        if self._fixed is not None:
            found = self._fixed
        else:
            span = (int(str(first)[:4]), int(str(last)[:4]))
            if HOLIDAY_YEARS[0] - 1 <= span[0] and span[1] <= HOLIDAY_YEARS[1] + 1:
                found = self.country_table()
            else:  # training data outside the years the service serves: asked once per data set, not cached
                found = country_days(self.country, self.subdiv, span[0], span[1])
        return Days(_between(found.holidays, first, last), _between(found.workdays, first, last), found.weekend)

    def country_table(self) -> Days:
        """The country's holidays and make-up workdays over all of HOLIDAY_YEARS, built once (KR: 2,846 dates
        in 73 ms). A calendar left to decide whether it has an `offday` column builds it at once, to know.

        A request's years must never decide what is computed while it waits: a cache of year spans built on
        demand let two-series requests starting in the 1900s and 2190s cost 20 ms each on the event loop.
        `Predictor.load`'s probe builds the table, so no request does. Two threads may both build it on
        first use; they build the same array."""
        if self._country_table is None:
            # a year either side: `after_holiday` of 1900-01-01 asks about 1899-12-31
            self._country_table = country_days(self.country, self.subdiv, HOLIDAY_YEARS[0] - 1, HOLIDAY_YEARS[1] + 1)
        return self._country_table

    def _check_coverage(self, days: np.ndarray) -> None:
        """A holiday CSV knows only its own years: refuse dates past them rather than call them all workdays."""
        known = np.concatenate([self._fixed.holidays, self._fixed.workdays]) if self._fixed is not None else NO_DATES
        if not len(days) or not len(known):
            return
        first, last = (int(str(d)[:4]) for d in (known.min(), known.max()))
        lo, hi = (int(str(d)[:4]) for d in (days.min(), days.max()))
        if lo < first or hi > last:
            raise CalendarError(
                f"the holiday file covers {first}-{last}; timestamps run {lo}-{hi}; extend the file or use "
                "a holiday country"
            )

    def spec(self, holiday_file: str | None = None) -> CalendarSpec:
        """What a model card records so the service rebuilds this calendar (holiday file dates embedded)."""
        fixed = self._fixed
        return CalendarSpec(
            names=list(self.names),
            country=self.country,
            subdiv=self.subdiv,
            holidays=[d.item() for d in fixed.holidays] if fixed is not None else None,
            workdays=[d.item() for d in fixed.workdays] if fixed is not None and len(fixed.workdays) else None,
            holiday_file=holiday_file,
        )

    @classmethod
    def of(cls, freq: str, spec: CalendarSpec) -> Calendar:
        """The calendar a card describes; CalendarError if this build would make other columns than the graph's."""
        calendar = cls(
            freq,
            country=spec.country,
            subdiv=spec.subdiv,
            holiday_dates=spec.holidays,
            workday_dates=spec.workdays,
            offday=OFFDAY in spec.names,
        )
        if list(calendar.names) != spec.names:
            raise CalendarError(f"the card's covariates are {spec.names}; this paxcast builds {list(calendar.names)}")
        return calendar

    def windows(self, firsts: np.ndarray, length: int) -> np.ndarray:
        """Covariates of `length` grid steps from each of `firsts` (batch,) datetime64: (batch, length, features).

        The one place a model's calendar input is built, for training, backtests and the service alike.
        """
        return self.rows(firsts, length)[:]

    def rows(self, firsts: np.ndarray, length: int) -> CalendarRows:
        """`windows`, with each distinct window built and stored once: the series of a network share theirs."""
        distinct, index = np.unique(np.asarray(firsts, dtype="datetime64[s]"), return_inverse=True)
        if self.freq in ("h", "D", "W"):
            step = np.timedelta64({"h": 3600, "D": 86400, "W": 7 * 86400}[self.freq], "s")
            grid = distinct[:, None] + step * np.arange(length)
        else:
            grid = np.stack([timestamps(first.item(), self.freq, length) for first in distinct])
        windows = self.features(grid.reshape(-1)).reshape(len(distinct), length, len(self.names))
        return CalendarRows(windows, index.reshape(-1))


@dataclass(frozen=True)
class CalendarRows:
    """A batch's calendar input (batch, length, features), held as its distinct windows and an index.

    10,000 hourly series of a network, 504 steps and 16 covariates each, are 323 MB as one array and 32 KB
    this way; a slice (`rows[a:b]`, what a session.run takes) is built when it runs."""

    distinct: np.ndarray  # (windows, length, features) float32
    index: np.ndarray  # (batch,) the window of each row

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, rows: slice | int) -> np.ndarray:
        return self.distinct[self.index[rows]]


def timestamps(start: str | dt.datetime, freq: str, n: int) -> np.ndarray:
    """The `n` grid timestamps from `start` at `freq`, as datetime64[s] (n,)."""

    when = parse_timestamp(start) if isinstance(start, str) else start
    if freq in FIXED_STEPS:
        step = np.timedelta64(int(FIXED_STEPS[freq].total_seconds()), "s")
        return np.datetime64(when, "s") + step * np.arange(n)
    if freq in MONTH_STEPS:
        return np.array([add_months(when, MONTH_STEPS[freq] * k) for k in range(n)], dtype="datetime64[s]")
    raise CalendarError(f"unknown frequency {freq!r}; expected one of h, D, W, MS, QS, YS")


def _between(dates: np.ndarray, first: np.datetime64, last: np.datetime64) -> np.ndarray:
    return dates[np.searchsorted(dates, first) : np.searchsorted(dates, last, side="right")]
