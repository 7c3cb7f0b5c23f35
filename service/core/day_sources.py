"""Where a calendar's holidays and make-up workdays come from: the `holidays` package for a country, or a file.

A make-up workday is a weekend day worked in exchange for a bridge holiday: China worked Saturday 2018-12-29 so
that Monday 2018-12-31, between a Sunday and New Year's Day, was off. The package lists them per country as
`HolidayBase.weekend_workdays` (CN, RU, TW and VN have some; KR, IN and AU none, holidays 0.109); a holiday file
marks them in an optional `type` column. `paxcast.service.core.covariates` turns the dates into columns; like it,
this module imports no torch.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Monday = 0. A holiday file cannot say which days are the weekend: it is Saturday and Sunday.
SATURDAY_SUNDAY = (5, 6)
# The values of a holiday file's `type` column (any case); without the column every row is a holiday.
HOLIDAY, WORKDAY = "holiday", "workday"
NO_DATES = np.empty(0, dtype="datetime64[D]")


class CalendarError(ValueError):
    """A calendar request cannot be met (unknown country, bad holiday file, unknown frequency)."""


@dataclass(frozen=True)
class Days:
    """One source's days that break the weekly rhythm, each sorted datetime64[D]: the holidays, and the weekend
    days worked instead (make-up workdays); `weekend` the weekdays (Monday = 0) off in an ordinary week."""

    holidays: np.ndarray
    workdays: np.ndarray = field(default_factory=lambda: NO_DATES)
    weekend: tuple[int, ...] = SATURDAY_SUNDAY

    @classmethod
    def of_dates(cls, holidays: list[dt.date], workdays: list[dt.date] | None = None) -> Days:
        """The days a model card embeds (a holiday file's dates)."""
        return cls(_sorted(holidays), _sorted(workdays or []))


def country_days(country: str, subdiv: str | None, first_year: int, last_year: int) -> Days:
    """The holidays package's holidays and make-up workdays of `country` [`subdiv`] from `first_year` to
    `last_year`."""
    import holidays  # imported here: pure Python, but 0.1 s to import and only needed with a country

    found = holidays.country_holidays(country, subdiv=subdiv, years=range(first_year, last_year + 1))
    # No listed workday is also a holiday or a weekday in 0.109 (CN, RU, TW, VN, BY, KZ, UA, UZ over 1899-2200);
    # `covariates` lets a holiday win should one ever be both.
    return Days(_sorted(found), _sorted(found.weekend_workdays), tuple(sorted(found.weekend)))


def check_country(country: str, subdiv: str | None) -> None:
    """CalendarError unless the holidays package knows `country` and its `subdiv`."""
    import holidays

    supported = holidays.list_supported_countries()
    if country not in supported:
        raise CalendarError(
            f"unknown holiday country {country!r}; use an ISO 3166 code that the holidays package knows, "
            "e.g. KR, AU, US, GB"
        )
    if subdiv is not None and subdiv not in supported[country]:
        raise CalendarError(
            f"unknown subdivision {subdiv!r} of {country}; expected one of {', '.join(supported[country])}"
        )


def read_day_file(path: Path) -> Days:
    """A holiday file: a `ds` column of ISO dates and an optional `type` column, `holiday` or `workday` (a weekend
    day worked), any case; other columns ignored. CalendarError naming the file, the line and the rule."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CalendarError(f"{path}: cannot read the holiday file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CalendarError(f"{path}: line {line}: not UTF-8 text ({exc.reason})") from None
    found: dict[str, dict[dt.date, int]] = {HOLIDAY: {}, WORKDAY: {}}  # date -> the first line giving it
    with io.StringIO(text, newline="") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        if "ds" not in header:
            raise CalendarError(f"{path}: line 1: missing column 'ds' (header is {','.join(header)})")
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            line = reader.line_num
            day = _cell(record, header, "ds")
            try:
                date = dt.date.fromisoformat(day)
            except ValueError:
                raise CalendarError(f"{path}: line {line}: ds {day!r} is not an ISO date") from None
            kind = _cell(record, header, "type").lower() if "type" in header else HOLIDAY
            if kind not in found:
                raise CalendarError(
                    f"{path}: line {line}: type {kind!r} is neither {HOLIDAY!r} nor {WORKDAY!r} (any case)"
                )
            other = WORKDAY if kind == HOLIDAY else HOLIDAY
            if date in found[other]:
                raise CalendarError(
                    f"{path}: line {line}: {date} is given as a {kind} here and as a {other} on line "
                    f"{found[other][date]}; a date is one or the other"
                )
            found[kind].setdefault(date, line)
    return Days(_sorted(found[HOLIDAY]), _sorted(found[WORKDAY]))


def _cell(record: list[str], header: list[str], column: str) -> str:
    at = header.index(column)
    return record[at].strip() if len(record) > at else ""


def _sorted(dates) -> np.ndarray:
    return np.array(sorted(set(dates)), dtype="datetime64[D]")
