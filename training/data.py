"""Read and validate long-format series files (`unique_id,ds,y`, plain or `.csv.gz`).

Every rule a file can break raises `DataError` with one line that names the file,
the line and the rule, so the CLI can print it without a traceback.

A series lives on a regular grid (hourly, daily, weekly, monthly, quarterly, yearly)
that starts at its first timestamp. A grid point with no row is *missing*: it is kept
as NaN in `Series.y` and counted in `Series.missing`, never filled. A timestamp off the
grid, a duplicate, a row out of order, or two frequencies in one file are errors.

Files are parsed column-wise with NumPy (the 1M-row Seoul file in a few seconds); a file
with quotes, blank lines or any bad field is re-read row by row with the csv module, which
finds the first offending line for the message.

Over 300 lines on purpose: both parsers and the grid inference share one rule book and one error
format (file, line, rule); kept together, a rule cannot be checked by one parser and missed by the other.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paxcast.service.core.calendar import (
    DEFAULT_SEASON,
    FIXED_STEPS,
    FREQ_NAMES,
    MONTH_STEPS,
    add_months,
    parse_timestamp,
)
from paxcast.service.core.calendar import step as step_from
from paxcast.service.core.exceptions import DataError
from paxcast.service.core.text_files import (
    MAX_FIELD_CHARS,
    MAX_TEXT_BYTES,
    READ_ERRORS,
    Y_LIMIT,
    read_bytes,
    read_error,
)

DEFAULT_ID = "series"
# Bounds on what one file may cost, each named in its refusal (the text's size and a field's length are
# every reader's: service/core/text_files.py). The grid is what a span of timestamps costs, not the rows:
# two hourly rows millennia apart would fill gigabytes of NaN.
MAX_GRID_POINTS = 50_000_000  # float64: 400 MB over every series of the file; the Seoul file has 1.1 million
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Series:
    """One series on a regular grid: `y` of shape (t,), NaN where the grid has no row.

    `start` is the first timestamp (ISO date, or date-time for sub-daily series), `freq`
    one of `paxcast.service.core.calendar.FREQUENCIES`.
    """

    id: str
    start: str
    freq: str
    y: np.ndarray

    @property
    def season(self) -> int:
        return DEFAULT_SEASON[self.freq]

    @property
    def missing(self) -> int:
        """How many grid points have no row in the file (NaN in `y`)."""
        return int(np.isnan(self.y).sum())

    def timestamp(self, index: int) -> dt.datetime:
        """The grid timestamp of `y[index]`."""
        return step_from(parse_timestamp(self.start), self.freq, index)


def read_series(path: str | Path) -> list[Series]:
    """Read a long-format CSV (or `.csv.gz`) into series, in the order they first appear.

    Columns: `ds` (ISO date or date-time), `y` (finite number) and, optionally
    when there is one series, `unique_id`. Logs one line with the count of missing
    grid points per file.
    """
    path = Path(path)
    text = _read_text(path)
    lines = text.splitlines() if text else []
    if not lines:
        raise DataError(f"{path}: line 1: the file is empty; expected a header with columns ds,y")
    header = [name.strip() for name in lines[0].split(",")]
    if '"' in lines[0]:
        header = [name.strip() for name in next(csv.reader([lines[0]]))]
    for required in ("ds", "y"):
        if required not in header:
            raise DataError(f"{path}: line 1: missing column '{required}' (header is {','.join(header)})")
    columns = _fast_columns(text, header) or _slow_columns(path, text, header)
    if not len(columns[3]):
        raise DataError(f"{path}: line 2: the file has a header but no rows")
    series = _assemble(path, *columns)
    missing = sum(s.missing for s in series)
    log.info(
        "%s: %d series, %d rows, %d missing grid points in %d series",
        path,
        len(series),
        len(columns[3]),
        missing,
        sum(s.missing > 0 for s in series),
    )
    return series


def require_length(path: str | Path, series: list[Series], needed: int, why: str, hint: str = "") -> None:
    """Raise DataError naming the first series shorter than `needed` values (`hint`: what to do instead)."""
    for s in series:
        if len(s.y) < needed:
            raise DataError(f"{path}: series '{s.id}' has {len(s.y)} rows; {why} needs at least {needed}{hint}")


def require_complete(path: str | Path, series: list[Series], why: str) -> None:
    """Raise DataError naming the first series with a missing grid point (for models that cannot mask)."""
    for s in series:
        if s.missing:
            at = _timestamp_text(_grid_point(parse_timestamp(s.start), s.freq, int(np.flatnonzero(np.isnan(s.y))[0])))
            raise DataError(
                f"{path}: series '{s.id}' has {s.missing} missing timestamps (first {at}); {why} needs a "
                "complete series"
            )


def _read_text(path: Path) -> str:
    try:
        raw = read_bytes(path, MAX_TEXT_BYTES)
    except READ_ERRORS as exc:
        raise read_error(path, exc, 1) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: not UTF-8 text ({exc.reason})") from None


def _fast_columns(text: str, header: list[str]):
    """(ids, ds, y, lines) parsed column-wise, or None when the file needs the row-by-row reader."""
    body = text.split("\n", 1)[1] if "\n" in text else ""
    body = body.replace("\r\n", "\n")
    if body.endswith("\n"):
        body = body[:-1]
    if not body or '"' in body or "\r" in body or "\n\n" in body:
        return None
    width = len(header)
    fields = body.replace("\n", ",").split(",")
    n = body.count("\n") + 1
    if len(fields) != n * width:
        return None
    raw = np.frombuffer(body.encode(), np.uint8)
    separators = np.flatnonzero((raw == 44) | (raw == 10))
    if len(raw) and np.diff(separators, prepend=-1, append=len(raw)).max() - 1 > MAX_FIELD_CHARS:
        return None  # the row-by-row reader names the line
    commas_before_each_end = np.searchsorted(np.flatnonzero(raw == 44), np.append(np.flatnonzero(raw == 10), len(raw)))
    if (np.diff(commas_before_each_end, prepend=0) != width - 1).any():
        return None  # a short row next to a long one: same field total, shifted columns
    i_ds, i_y = header.index("ds"), header.index("y")
    ds_text = fields[i_ds::width]
    if len({len(d) for d in ds_text} - {10, 19}) or any(d[10] not in "T " for d in ds_text if len(d) == 19):
        return None  # time zones, fractions, odd spacing: the exact parser decides
    y_text = fields[i_y::width]
    if max(map(len, y_text)) > 40:  # a fixed-width array of the longest: n x its length x 4 bytes
        return None
    try:
        ds = np.array(ds_text, dtype="datetime64[s]")
        y = np.array(y_text).astype(np.float64)
    except ValueError:
        return None
    if not np.isfinite(y).all() or (np.abs(y) > Y_LIMIT).any() or np.isnat(ds).any():
        return None
    if (ds < np.datetime64("0001-01-01")).any():
        return None  # NumPy reads years 0 and -1; Python's dates, and so the exact parser, do not
    if "unique_id" in header:
        ids = fields[header.index("unique_id") :: width]
        if any(not i or i != i.strip() for i in set(ids)):
            return None
    else:
        ids = [DEFAULT_ID] * n
    return ids, ds, y, np.arange(2, n + 2)


def _slow_columns(path: Path, text: str, header: list[str]):
    """The same columns read with the csv module; raises DataError at the first bad row."""
    reader = csv.reader(io.StringIO(text))
    next(reader)
    i_ds, i_y = header.index("ds"), header.index("y")
    i_id = header.index("unique_id") if "unique_id" in header else None
    rows = []
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise DataError(f"{path}: line {line}: expected {len(header)} fields, got {len(record)}")
            if max(map(len, record)) > MAX_FIELD_CHARS:
                raise DataError(
                    f"{path}: line {line}: a field is longer than {MAX_FIELD_CHARS} characters, the most it may hold"
                )
            series_id = record[i_id].strip() if i_id is not None else DEFAULT_ID
            if not series_id:
                raise DataError(f"{path}: line {line}: unique_id is empty")
            try:
                when = parse_timestamp(record[i_ds])
            except ValueError:
                raise DataError(f"{path}: line {line}: ds {record[i_ds]!r} is not an ISO date") from None
            try:
                value = float(record[i_y])
            except ValueError:
                raise DataError(f"{path}: line {line}: y {record[i_y]!r} is not a number") from None
            if not math.isfinite(value):
                raise DataError(f"{path}: line {line}: y {record[i_y]!r} is not finite")
            if abs(value) > Y_LIMIT:
                raise DataError(
                    f"{path}: line {line}: y {record[i_y]!r} is beyond ±{Y_LIMIT:g}, where training's float32 "
                    "arithmetic overflows; rescale the series (e.g. to thousands)"
                )
            rows.append((series_id, when, value, line))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):  # the csv module's own cap, far above ours
            raise DataError(
                f"{path}: line {reader.line_num}: a field is longer than {MAX_FIELD_CHARS} characters, the most "
                "it may hold"
            ) from None
        raise DataError(f"{path}: line {reader.line_num}: not a readable CSV row ({exc})") from None
    ids, stamps, values, lines = zip(*rows, strict=True) if rows else ((), (), (), ())
    return (
        list(ids),
        np.array(stamps, dtype="datetime64[s]"),
        np.array(values, dtype=np.float64),
        np.array(lines, dtype=np.int64),
    )


def _assemble(path: Path, ids: list[str], ds: np.ndarray, y: np.ndarray, lines: np.ndarray) -> list[Series]:
    """Group the rows into series on one grid frequency: the first series whose own spacing names one
    sets it. A series whose spacing names no frequency (a new station's single row, or a few rows with
    gaps) is read on the file's grid if its timestamps fall on it, so one such series does not refuse a
    whole network; a series whose spacing names a different frequency is an error."""
    codes: dict[str, int] = {}
    code = np.fromiter((codes.setdefault(i, len(codes)) for i in ids), dtype=np.int64, count=len(ids))
    order = np.argsort(code, kind="stable")
    bounds = np.searchsorted(code[order], np.arange(len(codes) + 1))
    groups = [(series_id, order[bounds[k] : bounds[k + 1]]) for series_id, k in codes.items()]
    own = [_own_freq(path, series_id, ds[rows], lines[rows]) for series_id, rows in groups]
    first = next((k for k, (freq, _) in enumerate(own) if freq is not None), None)
    if first is None:
        raise DataError(own[0][1])
    file_freq, first_line = own[first][0], int(lines[groups[first][1][0]])
    out: list[Series] = []
    spanned = 0  # grid points of the series so far
    for (series_id, rows), (freq, _) in zip(groups, own, strict=True):
        if freq is not None and freq != file_freq:
            raise DataError(
                f"{path}: line {lines[rows[0]]}: series '{series_id}' is {FREQ_NAMES[freq]} but series "
                f"'{groups[first][0]}' (line {first_line}) is {FREQ_NAMES[file_freq]}; one frequency per file"
            )
        out.append(_on_grid(path, series_id, ds[rows], y[rows], lines[rows], file_freq, MAX_GRID_POINTS - spanned))
        spanned += len(out[-1].y)
    return out


def _own_freq(path: Path, series_id: str, ds: np.ndarray, lines: np.ndarray) -> tuple[str | None, str]:
    """The frequency a series' own spacing names, or None with the message that says why not.
    Duplicate and unsorted timestamps raise here: no grid can place them."""
    if len(ds) < 2:
        return None, f"{path}: line {lines[0]}: series '{series_id}' has a single row; need a regular series"
    delta = np.diff(ds.astype(np.int64))
    bad = np.flatnonzero(delta <= 0)
    if len(bad):
        i = bad[0] + 1
        if delta[bad[0]] == 0:
            raise DataError(
                f"{path}: line {lines[i]}: duplicate ds {_timestamp_text(_py(ds[i]))} in series '{series_id}'"
            )
        raise DataError(
            f"{path}: line {lines[i]}: ds {_timestamp_text(_py(ds[i]))} is before the previous row's; sort by ds"
        )
    freq, i = _infer_freq(ds, delta)
    if freq is None:
        return None, (
            f"{path}: line {lines[i]}: the spacing {_py(ds[i - 1]).isoformat()} -> {_py(ds[i]).isoformat()} in series "
            f"'{series_id}' is not one of: {', '.join(FREQ_NAMES.values())}"
        )
    return freq, ""


def _on_grid(
    path: Path, series_id: str, ds: np.ndarray, y: np.ndarray, lines: np.ndarray, freq: str, room: int
) -> Series:
    """The series on its `freq` grid from its first timestamp; a row off that grid is an error, and so is a grid
    of more than `room` points (what MAX_GRID_POINTS leaves after the series before it)."""
    position, off = _grid_positions(ds, freq)
    if off is not None:
        start = _py(ds[0])
        rules = {"h": "whole hours", "D": "midnights", "W": f"midnights 7 days apart from {start.date()}"}
        rule = rules[freq] if freq in rules else f"midnight of day {start.day} every {MONTH_STEPS[freq]} months"
        raise DataError(
            f"{path}: line {lines[off]}: ds {_py(ds[off]).isoformat()} is off the {FREQ_NAMES[freq]} grid of series "
            f"'{series_id}' (which starts {start.isoformat()}; timestamps must fall on {rule})"
        )
    if (span := int(position.max()) + 1) > room:
        last = int(np.argmax(position))
        shown = lambda when: _py(when).isoformat(timespec="minutes") if freq == "h" else _timestamp_text(_py(when))  # noqa: E731
        raise DataError(
            f"{path}: line {lines[last]}: series '{series_id}' would span {span:,} {FREQ_NAMES[freq]} grid points "
            f"from {shown(ds[0])} to {shown(ds[last])}; a file spans at most "
            f"{MAX_GRID_POINTS:,} in all"
        )
    values = np.full(span, np.nan)
    values[position] = y
    start = _py(ds[0])
    return Series(id=series_id, start=start.isoformat() if freq == "h" else _timestamp_text(start), freq=freq, y=values)


def _infer_freq(ds: np.ndarray, delta: np.ndarray) -> tuple[str | None, int]:
    """The frequency of the most common spacing (gaps are rarer than steps), and a row index that shows it."""
    i = _first_of_mode(delta)
    for freq, step in FIXED_STEPS.items():
        if delta[i - 1] == step.total_seconds():
            return freq, i
    j = _first_of_mode(np.diff(_month_index(ds)))
    for freq, step in MONTH_STEPS.items():
        if add_months(_py(ds[j - 1]), step) == _py(ds[j]):
            return freq, j
    return None, i


def _first_of_mode(values: np.ndarray) -> int:
    """1 + the index of the first occurrence of the most common value (the row that ends that spacing)."""
    uniques, counts = np.unique(values, return_counts=True)
    return int(np.flatnonzero(values == uniques[np.argmax(counts)])[0]) + 1


def _grid_positions(ds: np.ndarray, freq: str) -> tuple[np.ndarray, int | None]:
    """Grid index of every row, and the first row off the grid (None if all are on it)."""
    seconds = ds.astype(np.int64)
    if freq in FIXED_STEPS:
        step = int(FIXED_STEPS[freq].total_seconds())
        offset = seconds - seconds[0]
        wrong = (offset % step != 0) | (seconds % (3600 if freq == "h" else 86400) != 0)
        position = offset // step
    else:
        steps = (_month_index(ds) - _month_index(ds[:1])[0]) // MONTH_STEPS[freq]
        start = _py(ds[0])
        expected = np.array([add_months(start, int(k) * MONTH_STEPS[freq]) for k in steps], dtype="datetime64[s]")
        wrong = (expected != ds) | (seconds % 86400 != 0)
        position = steps
    off = np.flatnonzero(wrong)
    return position, (int(off[0]) if len(off) else None)


def _month_index(ds: np.ndarray) -> np.ndarray:
    return ds.astype("datetime64[M]").astype(np.int64)


def _grid_point(start: dt.datetime, freq: str, k: int) -> dt.datetime:
    return start + FIXED_STEPS[freq] * k if freq in FIXED_STEPS else add_months(start, MONTH_STEPS[freq] * k)


def _py(value: np.datetime64) -> dt.datetime:
    return value.astype("datetime64[s]").astype(dt.datetime)


def _timestamp_text(when: dt.datetime) -> str:
    return when.date().isoformat() if when.time() == dt.time() else when.isoformat()
