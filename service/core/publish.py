"""The one place that writes the model registry; every write is atomic.

A version is assembled in a hidden staging directory next to its final place and
renamed into view only when complete, and `CURRENT` is swapped with a rename, so a
crash at any moment leaves either the old state or the new one, never half of one.
Retrain and rollback also take the model's lock (`.lock`) and prune old versions here; their
audit log is `history`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from paxcast.service.core.atomic import fsync_dir, write_atomic
from paxcast.service.core.contract import CARD_FILE, ONNX_FILE, ModelCard, sha256_of
from paxcast.service.core.exceptions import ModelError, RegistryBusy, UsageError
from paxcast.service.core.history import append_history, utc_now
from paxcast.service.core.registry import POINTER, current_version, list_versions


def new_version_id(base: Path) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    version, n = stamp, 1
    while (base / version).exists():
        n += 1
        version = f"{stamp}-{n}"
    return version


# The service's own load check (card, hash, onnxruntime, probe), called as `check(version_dir, version=...)`:
# `Predictor.load`, passed in by the caller so that this torch-free core never imports onnxruntime.
# What passes it is published; what fails it never becomes a version or CURRENT.
LoadCheck = Callable[..., object]


def register(
    root: str | Path,
    name: str,
    onnx_file: Path,
    card_for: Callable[[str, str], ModelCard],
    *,
    check: LoadCheck,
    make_current: bool = True,
) -> str:
    """Add `onnx_file` as a new version of `name`; return the version id.

    `card_for(version, onnx_sha256)` makes the version's card once its id and the staged
    graph's hash are known.
    """
    base = Path(root) / name
    created = not base.exists()  # a first version that fails must not leave an empty model folder behind
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
        check(staging, version=version, name=name)  # refuse to publish anything the service would refuse to load
        os.rename(staging, base / version)
        fsync_dir(base)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(base, ignore_errors=True)
        raise
    if make_current:
        set_current(root, name, version, check=check)
    return version


def set_current(root: str | Path, name: str, version: str, *, check: LoadCheck) -> None:
    """Point `<root>/<name>/CURRENT` at an existing, complete version that passes `check`, atomically."""
    base = Path(root) / name
    check(base / version, version=version, name=name)
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
        fsync_dir(base)
        shutil.rmtree(trash, ignore_errors=True)
    return doomed


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


def rollback(root: str | Path, name: str, version: str, *, check: LoadCheck) -> dict | None:
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
            set_current(root, name, version, check=check)  # runs the service's load check: refuses what it would refuse
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
