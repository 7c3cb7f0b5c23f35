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


class Cluster:
    """A throw-away cluster in `root`: `start()` it (initdb on the first call), `stop()` it, `url` reaches it."""

    def __init__(self, bin_dir: Path, root: Path):
        self.bin_dir, self.root = bin_dir, root
        self.data, self.log = root / "data", root / "server.log"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(root, nobody.pw_uid, nobody.pw_gid)
            self.as_owner = ["runuser", "-u", "nobody", "--"]
        self.url = f"postgresql+psycopg://{SUPERUSER}@/postgres?host={root}&port={PORT}"

    def run(self, *command: str) -> None:
        done = subprocess.run([*self.as_owner, *command], capture_output=True, text=True, timeout=60, cwd=self.root)
        if done.returncode != 0:
            server_log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr or done.stdout}{server_log}")

    def start(self) -> None:
        if not self.data.exists():
            initdb = str(self.bin_dir / "initdb")
            self.run(initdb, "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync")
        options = f"-k {self.root} -p {PORT} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        self.run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self) -> None:
        self.run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")


@contextlib.contextmanager
def controlled_cluster(bin_dir: Path | None = None) -> Iterator[Cluster]:
    """Start a cluster; yield it (a test may stop and start it again); stop it and remove its files.

    `bin_dir`: the PostgreSQL binaries (default: the newest installed, or the test is skipped)."""
    bin_dir = bin_dir or require_postgresql()
    root = Path(tempfile.mkdtemp(prefix="paxcast-pg-"))  # short: a socket path may hold 107 bytes
    try:
        server = Cluster(bin_dir, root)
        server.start()
        try:
            yield server
        finally:
            if (server.data / "postmaster.pid").exists():
                server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def cluster() -> Iterator[str]:
    """Start a cluster; yield its SQLAlchemy URL; stop it and remove its files."""
    with controlled_cluster() as server:
        yield server.url
