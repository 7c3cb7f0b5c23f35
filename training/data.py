"""Read and validate long-format series files (`unique_id,ds,y`) and cut them into windows.

Every rule a file can break raises `DataError` with one line that names the file,
the line and the rule, so the CLI can print it without a traceback.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paxcast.service.calendar import DEFAULT_SEASON, FREQ_NAMES, infer_freq, parse_timestamp, step
from paxcast.service.exceptions import DataError

DEFAULT_ID = "series"


@dataclass(frozen=True)
class Series:
    """One regularly spaced series: `y` of shape (t,), the first timestamp and the frequency."""

    id: str
    start: str
    freq: str
    y: np.ndarray

    @property
    def season(self) -> int:
        return DEFAULT_SEASON[self.freq]


def read_series(path: str | Path) -> list[Series]:
    """Read a long-format CSV into series, in the order they first appear.

    Columns: `ds` (ISO date or date-time), `y` (finite number) and, optionally
    when there is one series, `unique_id`. Within a series `ds` must increase by
    exactly one step of a single frequency.
    """
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror})") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            raise DataError(f"{path}: line 1: the file is empty; expected a header with columns ds,y") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: line 1: not a readable CSV file ({exc})") from None
        for required in ("ds", "y"):
            if required not in header:
                raise DataError(f"{path}: line 1: missing column '{required}' (header is {','.join(header)})")
        rows = _parse_rows(path, reader, header)
    if not rows:
        raise DataError(f"{path}: line 2: the file has a header but no rows")
    return _assemble(path, rows)


def _parse_rows(path: Path, reader, header: list[str]) -> dict[str, list[tuple[int, object, float]]]:
    i_ds, i_y = header.index("ds"), header.index("y")
    i_id = header.index("unique_id") if "unique_id" in header else None
    rows: dict[str, list[tuple[int, object, float]]] = {}
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise DataError(f"{path}: line {line}: expected {len(header)} fields, got {len(record)}")
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
            rows.setdefault(series_id, []).append((line, when, value))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: line {reader.line_num}: not a readable CSV row ({exc})") from None
    return rows


def _assemble(path: Path, rows: dict[str, list[tuple[int, object, float]]]) -> list[Series]:
    out = []
    for series_id, points in rows.items():
        if len(points) < 2:
            raise DataError(
                f"{path}: line {points[0][0]}: series '{series_id}' has a single row; need a regular series"
            )
        freq = None
        for (_, prev, _), (line, when, _) in zip(points, points[1:], strict=False):
            if when == prev:
                raise DataError(f"{path}: line {line}: duplicate ds {when.date()} in series '{series_id}'")
            if when < prev:
                raise DataError(f"{path}: line {line}: ds {when.date()} is before the previous row's; sort by ds")
            if freq is None:
                freq = infer_freq(prev, when)
                if freq is None:
                    raise DataError(
                        f"{path}: line {line}: the spacing {prev.isoformat()} -> {when.isoformat()} in series "
                        f"'{series_id}' is not one of: {', '.join(FREQ_NAMES.values())}"
                    )
            elif step(prev, freq) != when:
                raise DataError(
                    f"{path}: line {line}: ds {when.isoformat()} does not follow {prev.isoformat()} at the "
                    f"series' {FREQ_NAMES[freq]} frequency (gap or irregular spacing)"
                )
        start = points[0][1]
        start_text = start.date().isoformat() if start.time().isoformat() == "00:00:00" else start.isoformat()
        y = np.array([value for _, _, value in points], dtype=np.float64)
        out.append(Series(id=series_id, start=start_text, freq=freq, y=y))
    freqs = {s.freq for s in out}
    if len(freqs) > 1:
        raise DataError(
            f"{path}: series have mixed frequencies ({', '.join(sorted(freqs))}); train one frequency per model"
        )
    return out


def require_length(path: str | Path, series: list[Series], needed: int, why: str) -> None:
    """Raise DataError naming the first series shorter than `needed` values."""
    for s in series:
        if len(s.y) < needed:
            raise DataError(f"{path}: series '{s.id}' has {len(s.y)} rows; {why} needs at least {needed}")


def make_windows(y: np.ndarray, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """All (history, target) pairs of a series.

    Args:
        y: series of shape (t,).
    Returns:
        X of shape (t - window - horizon + 1, window) and Y of shape (same, horizon).
    """
    n = len(y) - window - horizon + 1
    if n < 1:
        return np.empty((0, window)), np.empty((0, horizon))
    idx = np.arange(n)[:, None]
    return y[idx + np.arange(window)], y[idx + window + np.arange(horizon)]
