"""A model's audit log, `<root>/<name>/history.jsonl`: one JSON line per promotion, kept model or rollback.

Appends are one O_APPEND write; a promotion's line is written as "promoting" before CURRENT moves and
completed after, and `reconcile_history` completes the lines of runs killed in between.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from paxcast.service.core.atomic import fsync_dir, write_atomic
from paxcast.service.core.exceptions import ModelError
from paxcast.service.core.files import open_regular
from paxcast.service.core.registry import current_version

HISTORY_FILE = "history.jsonl"
# A retrain's line names the last timestamp of each series: ~40 bytes a series, 25 KB for 600 stations.
# A longer line is skipped, never held whole.
MAX_LINE_BYTES = 1 << 20
# The web page shows the newest records: it reads at most this much from the end of the file.
SCAN_BYTES = 16 << 20
BLOCK_BYTES = 1 << 16


def read_history(root: str | Path, name: str) -> list[dict]:
    """The records of `<root>/<name>/history.jsonl`, oldest first, each line read by `parse_line`'s rule.

    No file is no history; a file that cannot be read raises OSError.
    """
    try:
        with open_regular(Path(root) / name / HISTORY_FILE) as handle:  # never blocks on a FIFO (core.files)
            return [record for line in lines_oldest_first(handle) if (record := parse_line(line)) is not None]
    except FileNotFoundError:
        return []


def newest_records(root: str | Path, name: str) -> Iterator[dict | None]:
    """The records of `<root>/<name>/history.jsonl` newest first, None for each line `parse_line` skips.

    Reads blocks from the end of the file and at most its last SCAN_BYTES, so a page showing the
    newest records holds a few blocks, not the file. No file yields nothing; one that cannot be read
    raises OSError. Close the iterator (or exhaust it) to close the file.
    """
    try:
        with open_regular(Path(root) / name / HISTORY_FILE) as handle:  # never blocks on a FIFO (core.files)
            for line in lines_newest_first(handle, SCAN_BYTES):
                if line is None or line.strip():
                    yield parse_line(line)
    except FileNotFoundError:
        return


def parse_line(line: bytes | None) -> dict | None:
    """The record on one line of history.jsonl; None when the line is torn, too long or not a JSON object.

    The one reading rule for retrain, reconcile and the web page. `line` is None for a line
    longer than MAX_LINE_BYTES (never held whole). Bytes that are not UTF-8 become U+FFFD.
    """
    if line is None or not line.strip():
        return None
    try:
        record = json.loads(line.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):  # JSON errors, 4300+ digit integers, nesting past the stack
        return None
    return record if isinstance(record, dict) else None


def lines_oldest_first(handle: BinaryIO) -> Iterator[bytes | None]:
    """Each line of a binary file without its newline; None for a line longer than MAX_LINE_BYTES."""
    while line := handle.readline(MAX_LINE_BYTES + 1):
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := handle.readline(BLOCK_BYTES)) and not rest.endswith(b"\n"):
                pass  # the rest of a line too long to keep is read in blocks and dropped
            yield None
        else:
            yield line.removesuffix(b"\n")


def lines_newest_first(handle: BinaryIO, budget: int) -> Iterator[bytes | None]:
    """The lines of a binary file newest first, from blocks read backwards over at most its last `budget` bytes.

    None stands for a line longer than MAX_LINE_BYTES; the empty line after a final newline is
    yielded too. A line cut by `budget` is not yielded: it is neither read whole nor known bad.
    """
    position = handle.seek(0, os.SEEK_END)
    stop = max(0, position - budget)
    tail, too_long = b"", False  # the end of the line being collected: bytes after `position`, before its newline
    while position > stop:
        start = max(stop, position - BLOCK_BYTES)
        handle.seek(start)
        first, *complete = handle.read(position - start).split(b"\n")
        position = start
        if complete:
            line = complete[-1] + tail
            yield None if too_long or len(line) > MAX_LINE_BYTES else line
            yield from (None if len(line) > MAX_LINE_BYTES else line for line in reversed(complete[:-1]))
            tail, too_long = b"", False
        tail = first + tail
        if len(tail) > MAX_LINE_BYTES:
            tail, too_long = b"", True
    if stop == 0:
        yield None if too_long else tail


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def append_history(root: str | Path, name: str, record: dict) -> None:
    """Append `record` as one JSON line to `<root>/<name>/history.jsonl`, durably.

    One O_APPEND write per record; if a killed writer left a torn last line, the
    new record starts on a fresh line so it is never glued to the fragment.
    """
    path = Path(root) / name / HISTORY_FILE
    line = json.dumps(record, separators=(",", ":"), allow_nan=False).encode() + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and _last_byte(path, size) != b"\n":
            line = b"\n" + line
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(path.parent)


def complete_history(root: str | Path, name: str, run: str, record: dict) -> None:
    """Replace the line of run `run` in history.jsonl with `record` (appended if there is none), atomically.

    A promotion writes its line first as "promoting", switches CURRENT, then completes the
    line here, so a kill at any moment never leaves a switch without a line. The file is
    rewritten to a temporary file and renamed: a kill mid-rewrite leaves the old file.
    """
    path = Path(root) / name / HISTORY_FILE
    line = json.dumps(record, separators=(",", ":"), allow_nan=False).encode() + b"\n"
    kept, found = [], False
    for old in path.read_bytes().splitlines() if path.is_file() else []:
        try:
            same = json.loads(old).get("run") == run
        except (ValueError, RecursionError, AttributeError):
            same = False
        kept.append(line if same else old + b"\n")
        found = found or same
    write_atomic(path, b"".join(kept) + (b"" if found else line))


def reconcile_history(root: str | Path, name: str) -> list[dict]:
    """Complete the "promoting" lines of runs killed before they completed them; return the completed records.

    Such a run was killed after writing its line: if CURRENT names its version, or a later
    rollback moved CURRENT away from it, the switch happened ("promoted"); otherwise it did
    not ("abandoned"). Call it holding the lock.
    """
    try:
        current = current_version(root, name)
    except ModelError:
        current = None
    done = []
    records = read_history(root, name)
    for k, record in enumerate(records):
        if record.get("decision") != "promoting" or "run" not in record:
            continue
        switched = record.get("current") == current or any(
            r.get("previous") == record.get("current") for r in records[k + 1 :]
        )
        fixed = {
            **record,
            "decision": "promoted" if switched else "abandoned",
            "reconciled": utc_now(),
            "reason": record.get("reason", "")
            + ("" if switched else "; the run was stopped before it switched CURRENT"),
        }
        if not switched:
            fixed["current"] = current
        complete_history(root, name, record["run"], fixed)
        done.append(fixed)
    return done


def _last_byte(path: Path, size: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(size - 1)
        return handle.read(1)
