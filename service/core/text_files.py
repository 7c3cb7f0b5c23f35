"""How every `unique_id,ds,y` file is opened: plain or gzip, UTF-8 (a byte-order mark is dropped), bounded.

One reader for the three places that read these files (training's reader, training/data.py; the shipped
data sets the pages chart, service/api/datasets.py; `paxcast actuals load`, service/store/actuals_file.py),
so a file means the same and costs the same wherever it is read. The bound is on the text the file
decompresses to, counted as it streams: a gzip bomb of valid rows stops at MAX_TEXT_BYTES, not at its
full size, and a caller that streams rows never holds more than its own batch.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import zlib
from pathlib import Path
from typing import BinaryIO

from paxcast.service.core.exceptions import DataError

# Reading a whole file holds the text and its parsed columns at once (a few times the text's size).
MAX_TEXT_BYTES = 256 * 1024 * 1024
# Longer than any id, date or number: a field beyond it is an attack or a broken export.
MAX_FIELD_CHARS = 1000
# Training runs in float32, where sums over a window of values near its 3.4e38 limit overflow (the
# service rescales each posted row, training does not): larger values are refused, not trained into NaN.
Y_LIMIT = 1e30
CHUNK_BYTES = 1 << 16


class TextTooLarge(ValueError):
    """The file holds more than `limit` bytes of text; `compressed` says whether that was after gunzip."""

    def __init__(self, limit: int, compressed: bool):
        self.limit, self.compressed = limit, compressed
        if compressed:
            super().__init__(f"decompresses to more than {limit:,} bytes, the most a file may hold")
        else:
            super().__init__(f"more than {limit:,} bytes, the most a file may hold")


class _Bounded(io.RawIOBase):
    """A readable stream that raises TextTooLarge once more than `limit` bytes have come through it."""

    def __init__(self, raw: BinaryIO, limit: int, compressed: bool):
        self._raw, self._left, self._limit, self._compressed = raw, limit, limit, compressed

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._raw.readinto(buffer)
        self._left -= count
        if self._left < 0:
            raise TextTooLarge(self._limit, self._compressed)
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_bytes(path: str | Path, limit: int | None = None) -> io.BufferedReader:
    """The file's bytes (gunzipped when its name ends in .gz), raising TextTooLarge past `limit` bytes
    (default MAX_TEXT_BYTES). OSError for the system, gzip.BadGzipFile/EOFError/zlib.error for a bad stream."""
    path = Path(path)
    limit = MAX_TEXT_BYTES if limit is None else limit
    compressed = path.name.endswith(".gz")
    raw = gzip.open(path, "rb") if compressed else path.open("rb")  # noqa: SIM115 - the caller closes it
    if not compressed and os.fstat(raw.fileno()).st_size > limit:  # refused before reading a byte
        raw.close()
        raise TextTooLarge(limit, compressed)
    return io.BufferedReader(_Bounded(raw, limit, compressed), buffer_size=CHUNK_BYTES)


def open_text(path: str | Path, limit: int | None = None) -> io.TextIOWrapper:
    """open_bytes as UTF-8 text for the csv module (newline="" keeps quoted newlines inside fields)."""
    return io.TextIOWrapper(open_bytes(path, limit), encoding="utf-8-sig", newline="")


def read_bytes(path: str | Path, limit: int | None = None) -> bytes:
    """The whole (decompressed) file; TextTooLarge past `limit` bytes, before holding more than that."""
    with open_bytes(path, limit) as handle:
        return handle.read()


# What opening and decoding a file can raise, the file's fault or the system's: `read_error` words each.
READ_ERRORS = (TextTooLarge, OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error)


def read_error(path: str | Path, exc: BaseException, line: int) -> DataError:
    """The one line (file, line, rule) for `exc`, one of READ_ERRORS met reading `path` at `line`."""
    if isinstance(exc, TextTooLarge):
        return DataError(f"{path}: {exc}")
    if isinstance(exc, gzip.BadGzipFile):
        return DataError(f"{path}: line 1: not a gzip file ({exc})")
    if isinstance(exc, OSError):
        return DataError(f"{path}: cannot read the file ({exc.strerror or exc})")
    if isinstance(exc, (EOFError, zlib.error)):
        return DataError(f"{path}: line {line}: the gzip stream is damaged or truncated ({exc})")
    if isinstance(exc, UnicodeDecodeError):
        return DataError(f"{path}: line {line}: not UTF-8 text ({exc.reason})")
    return DataError(f"{path}: line {line}: not a readable CSV row ({exc})")
