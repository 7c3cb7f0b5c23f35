"""A model's audit log, `<root>/<name>/history.jsonl`: one JSON line per promotion, kept model or rollback.

Appends are one O_APPEND write; a promotion's line is written as "promoting" before CURRENT moves and
completed after, and `reconcile_history` completes the lines of runs killed in between.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from pathlib import Path

from paxcast.service.core.atomic import fsync_dir, write_atomic
from paxcast.service.core.exceptions import ModelError
from paxcast.service.core.files import NotRegularFile, read_regular
from paxcast.service.core.registry import current_version

HISTORY_FILE = "history.jsonl"


def read_history(root: str | Path, name: str) -> list[dict]:
    """The records of `<root>/<name>/history.jsonl`, oldest first; a torn line left by a killed writer is skipped."""
    path = Path(root) / name / HISTORY_FILE
    try:
        text = read_regular(path).decode("utf-8", errors="replace")
    except (FileNotFoundError, NotRegularFile):  # never blocks on a FIFO (core.files)
        return []
    records = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError, RecursionError):  # JSON errors, and 4300+ digit integers
            if isinstance(record := json.loads(line), dict):
                records.append(record)
    return records


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
