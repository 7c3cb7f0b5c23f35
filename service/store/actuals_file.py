"""`ActualsFile(path)`: the rows of a `unique_id,ds,y` file (plain or `.gz`) for `paxcast actuals load`, in batches.

The CSV reader's rules (training/data.py) for each row, with its one-line errors naming the file, the line
and the rule (DataError, exit 3): a header naming unique_id, ds and y; every row that many fields, none
longer than MAX_FIELD_CHARS; a non-empty id; an ISO date or date-time; a finite number within ±Y_LIMIT;
each (unique_id, ds) once. Unlike a training file, the rows need not form a regular grid: actuals arrive
for whichever days were counted.

Memory stays bounded whatever the file: the text streams through the shared bounded reader
(service/core/text_files.py: a gzip bomb stops at MAX_TEXT_BYTES), rows leave in batches of BATCH, and
what is kept to find a repeated (unique_id, ds) is 16 bytes a row (the series' code, ds, line) plus each
distinct id once; the repeat check runs when the last batch has been read. The caller writes every batch
in one transaction, so a rule broken on the last line still writes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from paxcast.service.core.exceptions import DataError
from paxcast.service.core.text_files import MAX_FIELD_CHARS, READ_ERRORS, open_text, read_error
from paxcast.service.store.rows import Actual, check_y, parse_ds

COLUMNS = ("unique_id", "ds", "y")
BATCH = 5000


class ActualsFile:
    """Iterating yields lists of at most `batch` rows in file order; DataError (file, line, rule) at the
    first row that breaks a rule, or after the last batch when a (unique_id, ds) repeats. `rows` counts
    the rows yielded."""

    def __init__(self, path: str | Path, batch: int = BATCH):
        self.path, self.batch, self.rows = Path(path), batch, 0

    def __iter__(self) -> Iterator[list[Actual]]:
        path, reader = self.path, None
        try:
            with open_text(path) as handle:
                reader = csv.reader(handle)
                yield from self._batches(reader)
        except READ_ERRORS as exc:
            raise read_error(path, exc, _line(reader)) from None

    def _batches(self, reader) -> Iterator[list[Actual]]:
        path = self.path
        header = [name.strip() for name in next(reader, [])]
        if not header or header == [""]:
            raise DataError(f"{path}: line 1: the file is empty; expected a header with columns unique_id,ds,y")
        for required in COLUMNS:
            if required not in header:
                raise DataError(f"{path}: line 1: missing column '{required}' (header is {','.join(header)})")
        i_id, i_ds, i_y = (header.index(name) for name in COLUMNS)
        width = len(header)
        keys = _Keys()
        rows: list[Actual] = []
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
            unique_id = record[i_id].strip()
            if not unique_id:
                raise DataError(f"{path}: line {line}: unique_id is empty")
            try:
                ds = parse_ds(record[i_ds])
            except ValueError as exc:
                raise DataError(f"{path}: line {line}: ds {exc}") from None
            try:
                y = check_y(float(record[i_y]))
            except ValueError as exc:
                rule = str(exc) if "could not convert" not in str(exc) else f"{record[i_y]!r} is not a number"
                raise DataError(f"{path}: line {line}: y {rule}") from None
            rows.append(Actual(keys.intern(unique_id), ds, y))
            keys.add(unique_id, ds, line)
            if len(rows) == self.batch:
                self.rows += len(rows)
                yield rows
                rows = []
        if rows:
            self.rows += len(rows)
            yield rows
        if not self.rows:
            raise DataError(f"{path}: line 2: the file has a header but no rows")
        if repeat := keys.first_repeat():
            unique_id, ds, line, earlier = repeat
            raise DataError(f"{path}: line {line}: series '{unique_id}' has ds {ds} twice (first on line {earlier})")


class _Keys:
    """Every (unique_id, ds) read, compactly: a code per distinct id, ds in microseconds and the line, in
    NumPy chunks, so a file of millions of rows keeps 16 bytes a row rather than a dict of tuples."""

    def __init__(self):
        self.codes: dict[str, int] = {}
        self.names: list[str] = []
        self.chunks: list[np.ndarray] = []
        self.pending: list[tuple[int, int, int]] = []

    def intern(self, unique_id: str) -> str:
        """One string object per series, not one per row."""
        if unique_id not in self.codes:
            self.codes[unique_id] = len(self.names)
            self.names.append(unique_id)
        return self.names[self.codes[unique_id]]

    def add(self, unique_id: str, ds, line: int) -> None:
        micros = (ds - _EPOCH) // _MICROSECOND
        self.pending.append((self.codes[unique_id], micros, line))
        if len(self.pending) == BATCH:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            self.chunks.append(np.array(self.pending, dtype=_KEY))
            self.pending = []

    def first_repeat(self) -> tuple[str, str, int, int] | None:
        """(id, ds, line, first line) of the repeated key met first in the file, or None."""
        self._flush()
        if not self.chunks:
            return None
        keys = np.concatenate(self.chunks)
        order = np.lexsort((keys["line"], keys["ds"], keys["code"]))  # by key, then file order
        ordered = keys[order]
        same = (ordered["code"][1:] == ordered["code"][:-1]) & (ordered["ds"][1:] == ordered["ds"][:-1])
        if not same.any():
            return None
        later = ordered[1:][same]
        first = ordered[:-1][same]
        # A key seen three times pairs (1st, 2nd) and (2nd, 3rd); the earliest later line is the one to name,
        # and its pair's first line is its previous occurrence, the first one for the earliest repeat.
        at = int(np.argmin(later["line"]))
        ds = _EPOCH + int(later["ds"][at]) * _MICROSECOND
        shown = ds.date().isoformat() if ds.time() == dt.time() else ds.isoformat(sep=" ")
        return self.names[int(later["code"][at])], shown, int(later["line"][at]), int(first["line"][at])


_KEY = np.dtype([("code", np.int32), ("ds", np.int64), ("line", np.int32)])
_EPOCH = dt.datetime(1, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)


def _line(reader) -> int:
    return reader.line_num + 1 if reader is not None else 1
