"""`read_actuals_file(path)`: the rows of a `unique_id,ds,y` file (plain or `.gz`) for `paxcast actuals load`.

The CSV reader's rules (training/data.py) for each row, with its one-line errors naming the file, the line
and the rule (DataError, exit 3): a header naming unique_id, ds and y; every row that many fields, none
longer than MAX_FIELD_CHARS; a non-empty id; an ISO date or date-time; a finite number within ±Y_LIMIT;
each (unique_id, ds) once. Unlike a training file, the rows need not form a regular grid: actuals arrive
for whichever days were counted. Read row by row with the csv module, so a gzip file is never held whole.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from pathlib import Path

from paxcast.service.core.exceptions import DataError
from paxcast.service.store.rows import Actual, check_y, parse_ds

COLUMNS = ("unique_id", "ds", "y")
MAX_FIELD_CHARS = 1000  # training/data.py's bound: longer than any id, date or number


def open_text(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def read_actuals_file(path: str | Path) -> list[Actual]:
    """Every row of the file, in file order; DataError (file, line, rule) at the first that breaks a rule."""
    path = Path(path)
    reader = None
    try:
        with open_text(path) as handle:
            reader = csv.reader(handle)
            return _rows(path, reader)
    except OSError as exc:
        if isinstance(exc, gzip.BadGzipFile):
            raise DataError(f"{path}: line 1: not a gzip file ({exc})") from None
        raise DataError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    except (EOFError, zlib.error) as exc:
        raise DataError(f"{path}: line {_line(reader)}: the gzip stream is damaged or truncated ({exc})") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: line {_line(reader)}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise DataError(f"{path}: line {_line(reader)}: not a readable CSV row ({exc})") from None


def _line(reader) -> int:
    return reader.line_num + 1 if reader is not None else 1


def _rows(path: Path, reader) -> list[Actual]:
    header = [name.strip() for name in next(reader, [])]
    if not header or header == [""]:
        raise DataError(f"{path}: line 1: the file is empty; expected a header with columns unique_id,ds,y")
    for required in COLUMNS:
        if required not in header:
            raise DataError(f"{path}: line 1: missing column '{required}' (header is {','.join(header)})")
    i_id, i_ds, i_y = (header.index(name) for name in COLUMNS)
    width = len(header)
    rows: list[Actual] = []
    ids: dict[str, str] = {}  # one string object per series, not one per row
    seen: dict[tuple[str, object], int] = {}
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != width:
            raise DataError(f"{path}: line {line}: expected {width} fields, got {len(record)}")
        if max(map(len, record)) > MAX_FIELD_CHARS:
            raise DataError(
                f"{path}: line {line}: a field is longer than {MAX_FIELD_CHARS} characters, the most it may hold"
            )
        text_id = record[i_id].strip()
        if not text_id:
            raise DataError(f"{path}: line {line}: unique_id is empty")
        unique_id = ids.setdefault(text_id, text_id)
        try:
            ds = parse_ds(record[i_ds])
        except ValueError as exc:
            raise DataError(f"{path}: line {line}: ds {exc}") from None
        try:
            y = check_y(float(record[i_y]))
        except ValueError as exc:
            rule = str(exc) if "could not convert" not in str(exc) else f"{record[i_y]!r} is not a number"
            raise DataError(f"{path}: line {line}: y {rule}") from None
        if (earlier := seen.setdefault((unique_id, ds), line)) != line:
            raise DataError(
                f"{path}: line {line}: series '{unique_id}' has ds {record[i_ds].strip()} twice "
                f"(first on line {earlier})"
            )
        rows.append(Actual(unique_id, ds, y))
    if not rows:
        raise DataError(f"{path}: line 2: the file has a header but no rows")
    return rows
