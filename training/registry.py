"""The one place that writes the model registry; every write is atomic.

A version is assembled in a hidden staging directory next to its final place and
renamed into view only when complete, and `CURRENT` is swapped with a rename, so a
crash at any moment leaves either the old state or the new one, never half of one.
Retrain and rollback also take the model's lock (`.lock`), append to its audit log
(`history.jsonl`) and prune old versions, all here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from paxcast.service.contract import CARD_FILE, ONNX_FILE, ModelCard, sha256_of
from paxcast.service.exceptions import ModelError, RegistryBusy, UsageError
from paxcast.service.predictor import Predictor
from paxcast.service.registry import POINTER, current_version, list_versions, read_history, version_order


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same directory and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def new_version_id(base: Path) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    version, n = stamp, 1
    while (base / version).exists():
        n += 1
        version = f"{stamp}-{n}"
    return version


def check_servable(version_dir: Path, version: str | None = None) -> None:
    """The service's own load check (card, hash, onnxruntime, probe): what passes here, the service serves."""
    Predictor.load(version_dir, version=version)


def register(
    root: str | Path, name: str, onnx_file: Path, card_for: Callable[[str, str], ModelCard], make_current: bool = True
) -> str:
    """Add `onnx_file` as a new version of `name`; return the version id.

    `card_for(version, onnx_sha256)` makes the version's card once its id and the staged
    graph's hash are known.
    """
    base = Path(root) / name
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=base, prefix=".staging-"))
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would hide the model from a service running as another user
        shutil.copyfile(onnx_file, staging / ONNX_FILE)
        version = new_version_id(base)
        card = card_for(version, sha256_of(staging / ONNX_FILE))
        (staging / CARD_FILE).write_text(card.to_json(), encoding="utf-8")
        for item in staging.iterdir():
            with item.open("rb") as handle:
                os.fsync(handle.fileno())
        check_servable(staging, version)  # refuse to publish anything the service would refuse to load
        os.rename(staging, base / version)
        _fsync_dir(base)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if make_current:
        set_current(root, name, version)
    return version


def set_current(root: str | Path, name: str, version: str) -> None:
    """Point `<root>/<name>/CURRENT` at an existing, complete version, atomically."""
    base = Path(root) / name
    check_servable(base / version)
    write_atomic(base / POINTER, (version + "\n").encode())


def clean_staging(root: str | Path, name: str, min_age: float = 0.0) -> int:
    """Remove staging directories left by killed runs (older than `min_age` seconds); return how many."""
    base = Path(root) / name
    cutoff = time.time() - min_age
    stale = [p for p in base.glob(".staging-*") if p.is_dir() and p.stat().st_mtime <= cutoff] if base.is_dir() else []
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
    return len(stale)


@contextlib.contextmanager
def locked(root: str | Path, name: str):
    """Hold `<root>/<name>/.lock` exclusively for a retrain or rollback, or raise RegistryBusy at once.

    flock, not an exists-check: the kernel releases the lock when the holder exits
    or is killed, so a SIGKILLed run never leaves the registry locked.
    """
    base = Path(root) / name
    base.mkdir(parents=True, exist_ok=True)
    path = base / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise RegistryBusy(
                f"{path} is held by another retrain or rollback (pid {holder}); this run changed nothing"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def append_history(root: str | Path, name: str, record: dict) -> None:
    """Append `record` as one JSON line to `<root>/<name>/history.jsonl`, durably.

    One O_APPEND write per record; if a killed writer left a torn last line, the
    new record starts on a fresh line so it is never glued to the fragment.
    """
    path = Path(root) / name / "history.jsonl"
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
    _fsync_dir(path.parent)


def complete_history(root: str | Path, name: str, run: str, record: dict) -> None:
    """Replace the line of run `run` in history.jsonl with `record` (appended if there is none), atomically.

    A promotion writes its line first as "promoting", switches CURRENT, then completes the
    line here, so a kill at any moment never leaves a switch without a line. The file is
    rewritten to a temporary file and renamed: a kill mid-rewrite leaves the old file.
    """
    path = Path(root) / name / "history.jsonl"
    line = json.dumps(record, separators=(",", ":"), allow_nan=False).encode() + b"\n"
    kept, found = [], False
    for old in path.read_bytes().splitlines() if path.is_file() else []:
        try:
            same = json.loads(old).get("run") == run
        except (json.JSONDecodeError, AttributeError):
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


def prune(root: str | Path, name: str, keep: int) -> list[str]:
    """Delete all but the `keep` newest versions, never the current one; return the deleted ids.

    Each version is first renamed to a hidden `.trash-*` directory (atomic), then
    removed, so a kill mid-delete never leaves a half version in the listing.
    """
    if keep < 1:
        raise UsageError(f"--keep must be at least 1, got {keep}")
    base = Path(root) / name
    for leftover in base.glob(".trash-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    current = current_version(root, name)
    versions = list_versions(root, name)  # oldest first
    doomed = [v for v in versions[: max(len(versions) - keep, 0)] if v != current]
    for version in doomed:
        trash = base / f".trash-{version}"
        os.rename(base / version, trash)
        _fsync_dir(base)
        shutil.rmtree(trash, ignore_errors=True)
    return doomed


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@contextlib.contextmanager
def publishing():
    """Ignore SIGTERM/SIGINT while CURRENT, pruning and the history line are written.

    The step takes well under a second; stopping inside it would leave CURRENT and
    history.jsonl disagreeing. (SIGKILL cannot be deferred; each write is atomic on its own.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def rollback(root: str | Path, name: str, version: str) -> dict | None:
    """Point CURRENT at an existing, complete `version` and log it; None if it already is current."""
    started = time.monotonic()
    if version not in list_versions(root, name):
        known = ", ".join(list_versions(root, name)) or "none"
        raise ModelError(f"{Path(root) / name / version}: no such version (versions: {known})")
    with locked(root, name):
        try:
            previous = current_version(root, name)
        except ModelError:
            previous = None  # a rollback is also how a damaged CURRENT is repaired
        if version == previous:
            return None
        with publishing():
            set_current(root, name, version)  # runs the service's load check: refuses what it would refuse
            record = {
                "time": utc_now(),
                "event": "rollback",
                "decision": "rolled back",
                "reason": f"operator rollback from {previous} to {version}",
                "current": version,
                "previous": previous,
                "duration_s": round(time.monotonic() - started, 3),
            }
            append_history(root, name, record)
    return record


__all__ = [
    "register",
    "set_current",
    "check_servable",
    "write_atomic",
    "clean_staging",
    "current_version",
    "list_versions",
    "RegistryBusy",
    "locked",
    "append_history",
    "complete_history",
    "reconcile_history",
    "read_history",
    "version_order",
    "prune",
    "publishing",
    "rollback",
]
