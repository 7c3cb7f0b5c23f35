"""A throw-away PostgreSQL cluster for the store tests: Debian's `initdb` and `pg_ctl` in a temp dir.

The server listens on a unix socket inside that dir only (no TCP port to collide with a neighbour's),
with fsync off (the cluster dies with the session). initdb refuses to run as root, so under euid 0 the
binaries run as `nobody` through `runuser`, in a directory chowned to it. Without the binaries the tests
skip saying so, except under CI=true, where they fail: there they must run (`make test` installs them).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SUPERUSER = "paxcast"
PORT = 5432  # names the socket file only: .s.PGSQL.5432 in the cluster's own directory


def binaries() -> Path | None:
    """The newest installed /usr/lib/postgresql/<major>/bin holding initdb and pg_ctl, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def require_postgresql() -> Path:
    folder = binaries()
    if folder is None:
        reason = (
            "PostgreSQL store tests need Debian's postgresql package (/usr/lib/postgresql/*/bin/initdb); "
            "`make test` installs it when run as root"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: they must run)")
        pytest.skip(reason)
    return folder


@contextlib.contextmanager
def cluster() -> Iterator[str]:
    """Start a cluster; yield its SQLAlchemy URL; stop it and remove its files."""
    bin_dir = require_postgresql()
    root = Path(tempfile.mkdtemp(prefix="paxcast-pg-"))  # short: a socket path may hold 107 bytes
    as_owner: list[str] = []
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
        as_owner = ["runuser", "-u", "nobody", "--"]
    data, log = root / "data", root / "server.log"

    def run(*command: str) -> None:
        done = subprocess.run([*as_owner, *command], capture_output=True, text=True, timeout=60, cwd=root)
        if done.returncode != 0:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr or done.stdout}{server_log}")

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync")
        options = f"-k {root} -p {PORT} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "30", "start")
        try:
            yield f"postgresql+psycopg://{SUPERUSER}@/postgres?host={root}&port={PORT}"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
