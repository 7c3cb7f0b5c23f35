"""The one place that writes the model registry; every write is atomic.

A version is assembled in a hidden staging directory next to its final place and
renamed into view only when complete, and `CURRENT` is swapped with a rename, so a
crash at any moment leaves either the old state or the new one, never half of one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path

from service.registry import current_version, list_versions, read_contract, sha256_of


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
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    version, n = stamp, 1
    while (base / version).exists():
        n += 1
        version = f"{stamp}-{n}"
    return version


def register(root: str | Path, name: str, onnx_file: Path, meta: dict, make_current: bool = True) -> str:
    """Add `onnx_file` as a new version of `name` with contract `meta`; return the version id."""
    base = Path(root) / name
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=base, prefix=".staging-"))
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would hide the model from a service running as another user
        shutil.copyfile(onnx_file, staging / "model.onnx")
        version = new_version_id(base)
        meta = {**meta, "name": name, "version": version, "onnx_sha256": sha256_of(staging / "model.onnx")}
        meta.setdefault("created_at", dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
        (staging / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        for item in staging.iterdir():
            with item.open("rb") as handle:
                os.fsync(handle.fileno())
        read_contract(staging)  # refuse to publish anything the service would refuse to load
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
    read_contract(base / version)
    write_atomic(base / "CURRENT", (version + "\n").encode())


def clean_staging(root: str | Path, name: str) -> int:
    """Remove staging directories left by killed runs; return how many."""
    base = Path(root) / name
    stale = [p for p in base.glob(".staging-*") if p.is_dir()] if base.is_dir() else []
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
    return len(stale)


__all__ = ["register", "set_current", "write_atomic", "clean_staging", "current_version", "list_versions"]
