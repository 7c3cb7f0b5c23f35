"""The series shipped with a model's data set: found under PAXCAST_DATA_DIR, read once, searched by name.

A card names its training file (`data_file`, e.g. `seoul_subway_daily.csv.gz`); the
file is looked up as `<data_dir>/<stem>/<data_file>` or `<data_dir>/<data_file>`, read
lazily in the long format (`unique_id,ds,y`, gzip when it ends in `.gz`) and cached
until it changes. Display names come from a sidecar next to it (`stations.csv`,
`sensors.csv` or `series.csv`, keyed by `unique_id`). csv, gzip and NumPy only: the
service never imports paxcast.training.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gzip
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from paxcast.service.core.calendar import FIXED_STEPS, MONTH_STEPS, step
from paxcast.service.core.contract import sha256_of
from paxcast.service.core.text_files import TextTooLarge, open_text

SIDECARS = ("stations.csv", "sensors.csv", "series.csv")


class DataSetError(ValueError):
    """The shipped file cannot be read as the model's data set; the message names the file and line."""


@dataclass(frozen=True)
class ShippedSeries:
    """One series on the model's frequency grid: values (length,) with NaN where a timestamp is missing."""

    id: str
    name: str
    start: dt.datetime
    values: np.ndarray = field(repr=False)

    def timestamp(self, index: int, freq: str) -> str:
        """ISO text of the `index`-th grid point: a date at midnight, a date-time otherwise."""
        when = step(self.start, freq, index)
        return when.date().isoformat() if when.time() == dt.time() else when.isoformat()


@dataclass(frozen=True)
class DataSet:
    """A model's shipped series by id (file order), or why there are none (`problem`)."""

    path: Path | None
    series: dict[str, ShippedSeries]
    sha256: str | None = None
    problem: str | None = None


def plain_name(data_file: str) -> str:
    """The card's file name without any folder: a card must not point the service elsewhere."""
    return Path(data_file.replace("\\", "/")).name


def find_data_file(data_dir: str | Path, data_file: str) -> Path | None:
    """`<data_dir>/<stem>/<file>` (a data set's folder) or `<data_dir>/<file>`; None when neither exists."""
    name = plain_name(data_file)
    if not name or name.startswith("."):
        return None
    stem = name.removesuffix(".gz").removesuffix(".csv")
    for candidate in (Path(data_dir) / stem / name, Path(data_dir) / name):
        if candidate.is_file():
            return candidate
    return None


def load_data_set(data_dir: str | Path, data_file: str, freq: str) -> DataSet:
    """The shipped series for a card's `data_file` and `freq`; an empty DataSet if the file is absent or unreadable.

    `problem` names the file relative to `data_dir`: a response never shows a server path. A file the
    system refuses to read (OSError) is tried again on the next call; one that is read and found wrong
    is remembered until its mtime or size changes.
    """
    try:
        path = find_data_file(data_dir, data_file)
        if path is None:
            return DataSet(path=None, series={})
        stat = path.stat()
        return _cached(str(path), shown_name(path, data_dir), stat.st_mtime_ns, stat.st_size, freq)
    except OSError as exc:
        where = shown_name(Path(exc.filename), data_dir) if exc.filename else plain_name(data_file)
        return DataSet(path=None, series={}, problem=f"{where}: cannot be read ({exc.strerror or type(exc).__name__})")


def shown_name(path: Path, data_dir: str | Path) -> str:
    """`path` as responses name it: relative to the data directory, else its file name alone."""
    try:
        return path.relative_to(data_dir).as_posix()
    except ValueError:
        return path.name


_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def _cached_unlocked(path: str, shown: str, mtime_ns: int, size: int, freq: str) -> DataSet:
    # An OSError is raised through, so lru_cache does not keep it: the next request reads again.
    try:
        series = read_long_format(Path(path), freq, shown)
    except DataSetError as exc:
        return DataSet(path=Path(path), series={}, problem=str(exc))
    return DataSet(path=Path(path), series=series, sha256=sha256_of(path))


def _cached(path: str, shown: str, mtime_ns: int, size: int, freq: str) -> DataSet:
    with _lock:  # two first requests in worker threads must not parse the same big file twice
        return _cached_unlocked(path, shown, mtime_ns, size, freq)


def read_long_format(path: Path, freq: str, shown: str | None = None) -> dict[str, ShippedSeries]:
    """Series of a `unique_id,ds,y` file placed on the `freq` grid; DataSetError names the file and line.

    Messages name the file as `shown` (default: its path). Each run of rows of one id becomes
    NumPy arrays as soon as it ends, so only one series is ever held as Python strings (the Seoul
    file has 1M rows). An OSError other than a bad gzip header (the system, not the file) is raised.
    """
    shown = shown or str(path)
    runs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    first_line: dict[str, int] = {}
    key, ds, y = None, [], []

    def end_run() -> None:
        if key is not None:
            runs.setdefault(key, []).append(parse_run(shown, key, first_line[key], ds, y))

    try:
        with open_text(path) as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            if "ds" not in header or "y" not in header:
                raise DataSetError(f"{shown}: line 1: expected columns unique_id,ds,y (header is {','.join(header)})")
            i_ds, i_y = header.index("ds"), header.index("y")
            i_id = header.index("unique_id") if "unique_id" in header else None
            only = path.name.removesuffix(".gz").removesuffix(".csv")  # the id of a file without unique_id
            for record in reader:
                if not record:
                    continue
                now = record[i_id] if i_id is not None else only
                if now != key:
                    end_run()
                    key, ds, y = now, [], []
                    first_line.setdefault(key, reader.line_num)
                ds.append(record[i_ds])
                y.append(record[i_y])
            end_run()
    except (TextTooLarge, gzip.BadGzipFile, EOFError, zlib.error, UnicodeDecodeError, csv.Error, IndexError) as exc:
        raise DataSetError(f"{shown}: cannot be read as unique_id,ds,y ({exc})") from None
    names = read_names(path.parent)
    return {key: on_grid(shown, key, names.get(key, key), first_line[key], parts, freq) for key, parts in runs.items()}


def parse_run(shown: str, key: str, line: int, ds: list[str], y: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps (datetime64[s]) and values (float64) of one run of rows."""
    try:
        return np.array([text.strip() for text in ds], dtype="datetime64[s]"), np.array(y, dtype=np.float64)
    except ValueError as exc:
        raise DataSetError(f"{shown}: series '{key}' (from line {line}): {exc}") from None


def on_grid(
    shown: str, key: str, name: str, line: int, parts: list[tuple[np.ndarray, np.ndarray]], freq: str
) -> ShippedSeries:
    """Values (length,) placed at their step from the first timestamp; NaN where the file skips one."""
    where = f"{shown}: series '{key}' (from line {line})"
    stamps = np.concatenate([part[0] for part in parts])
    values = np.concatenate([part[1] for part in parts])
    if freq in MONTH_STEPS:
        months = stamps.astype("datetime64[M]")
        offset_ok = (stamps - months.astype("datetime64[s]")) == (stamps[0] - months[0].astype("datetime64[s]"))
        elapsed, size = (months - months[0]).astype(np.int64), MONTH_STEPS[freq]
    else:
        offset_ok = np.ones(len(stamps), dtype=bool)
        elapsed, size = (stamps - stamps[0]).astype(np.int64), int(FIXED_STEPS[freq].total_seconds())
    index, rest = np.divmod(elapsed, size)
    if not (offset_ok.all() and (rest == 0).all()):
        raise DataSetError(f"{where}: a timestamp is off the model's {freq} grid")
    if (np.diff(index) <= 0).any():
        raise DataSetError(f"{where}: timestamps are not strictly increasing")
    grid = np.full(int(index[-1]) + 1, np.nan)
    grid[index] = values
    return ShippedSeries(id=key, name=name, start=stamps[0].astype(dt.datetime), values=grid)


def read_names(folder: Path) -> dict[str, str]:
    """unique_id -> display name from the first sidecar: `name`, or `station` (with its `line`), or `sensor_name`."""
    for sidecar in SIDECARS:
        path = folder / sidecar
        if not path.is_file():
            continue
        try:
            with path.open(encoding="utf-8", newline="") as handle:
                return {row["unique_id"]: display_name(row) for row in csv.DictReader(handle) if row.get("unique_id")}
        except (OSError, UnicodeDecodeError, csv.Error, KeyError):
            return {}  # names are a convenience: ids still work
    return {}


def display_name(row: dict[str, str]) -> str:
    if row.get("name"):
        return row["name"]
    if row.get("station"):
        return f"{row['station']} ({row['line']})" if row.get("line") else row["station"]
    return row.get("sensor_name") or row["unique_id"]


def search(data_set: DataSet, query: str, limit: int) -> tuple[int, list[ShippedSeries]]:
    """(matches, the first `limit` of them): series whose id or name holds every word of `query`, any case."""
    words = query.casefold().split()
    found = [s for s in data_set.series.values() if all(w in f"{s.id} {s.name}".casefold() for w in words)]
    return len(found), found[:limit]
