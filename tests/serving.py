"""Start a real server process on a free loopback port, wait until it is ready, always stop it.

The one copy of free-port + wait-until-ready + stop, shared by the end-to-end tests and the
benchmarks (`bench/`, which import it as `tests.serving`; the tests never import `bench/`).
Standard library only, so it also drives a `paxcast` installed in another virtualenv
(tests/test_packaging.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVE = [sys.executable, "-m", "paxcast.service.cli.main", "serve"]  # `paxcast serve` of this interpreter


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:<port>
    port: int
    process: subprocess.Popen
    log: Path  # the server's stdout and stderr

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def free_port() -> int:
    """A TCP port no one listens on right now (the kernel's pick); the server binds it moments later."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(
    condition: Callable[[], object],
    timeout: float,
    what: str,
    interval: float = 0.05,
    alive: subprocess.Popen | None = None,
) -> None:
    """Poll `condition` until it is true; raise TimeoutError naming `what` after `timeout` seconds.

    With `alive`, raise RuntimeError as soon as that process has exited instead of waiting on.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if alive is not None and alive.poll() is not None:
            raise RuntimeError(f"the process exited with {alive.returncode} while waiting until {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"not {what} after {timeout:g} s")
        time.sleep(interval)


def read_everything_sent(port: int, client_port: int) -> bool:
    """Whether the server on `port` has accepted the connection from `client_port` and read all it was sent.

    From /proc/net/tcp: a connection still in the accept queue has inode 0; rx_queue counts
    the bytes the kernel holds that the server has not read yet.
    """
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
        if (local, remote) == (port, client_port):
            return fields[9] != "0" and int(fields[4].split(":")[1], 16) == 0
    return False


def answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (OSError, urllib.error.HTTPError):  # refused while starting, 503 while not ready
        return False


def group_members(group: int) -> list[int]:
    """The live (not zombie) processes in process group `group`, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone while we looked
                continue
            if fields[0] != "Z" and int(fields[2]) == group:
                members.append(int(entry.name))
    return members


def stop(process: subprocess.Popen, grace: float = 20) -> int:
    """SIGTERM the server's whole process group, wait up to `grace` s for it to empty, then SIGKILL what is left.

    The group, not only the main process: a server started by `running` leads its own session, and a main
    process that exits on SIGTERM without stopping its workers (a 2-worker LitServe did) would otherwise
    leave them orphaned and spinning beside whatever runs next. Returns the main process's exit code."""
    group = process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    while group_members(group) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):  # still alive after the grace: kill it all
        os.killpg(group, signal.SIGKILL)
    return process.wait(timeout=10)


def clean_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without PAXCAST_* and PROMETHEUS_* settings, plus `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PAXCAST_", "PROMETHEUS_"))}
    return {**base, **(env or {})}


@contextlib.contextmanager
def running(
    argv: list[str],
    port: int,
    log: Path,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/readyz",
    timeout: float = 60,
    cwd: Path = ROOT,
) -> Iterator[Server]:
    """Run `argv` (a server that will listen on 127.0.0.1:`port`) until `ready_path` answers 200; stop it on exit.

    The environment is this process's without PAXCAST_*/PROMETHEUS_* variables, plus `env`.
    The server runs in its own session, so stopping it also reaches any worker it forked.
    Raises RuntimeError (with the server's output) if it exits or is not ready within `timeout` s.
    """
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, env=clean_environment(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(base=f"http://127.0.0.1:{port}", port=port, process=process, log=log)
    try:
        try:
            wait_until(
                lambda: answers_200(server.base + ready_path),
                timeout,
                f"ready on {server.base}{ready_path}",
                interval=0.1,
                alive=process,
            )
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{' '.join(argv)}: {exc}; its output ({log}):\n{server.output()[-4000:]}") from None
        yield server
    finally:
        stop(process)


@contextlib.contextmanager
def serve(
    model_dir: Path,
    log: Path,
    argv: list[str] = SERVE,
    cwd: Path = ROOT,
    timeout: float = 60,
    ready_path: str = "/readyz",
    **settings: object,
) -> Iterator[Server]:
    """`paxcast serve` on a free port for the registry `model_dir`; `settings` become PAXCAST_* variables.

    Hot reload is off unless `reload_interval` is given. Yields once /readyz answers 200.
    """
    port = free_port()
    env = {
        "PAXCAST_HOST": "127.0.0.1",
        "PAXCAST_PORT": str(port),
        "PAXCAST_MODEL_DIR": str(model_dir),
        "PAXCAST_RELOAD_INTERVAL": "0",
    }
    env.update({f"PAXCAST_{key.upper()}": str(value) for key, value in settings.items()})
    with running(argv, port, log, env=env, ready_path=ready_path, timeout=timeout, cwd=cwd) as server:
        yield server


def serve_until_it_exits(registry: str | Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """`paxcast serve` of this interpreter on `registry`, expected to stop at start-up: its exit code and
    output. The environment's PAXCAST_* and PROMETHEUS_* variables are dropped; `env` sets the test's own."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PAXCAST_", "PROMETHEUS_"))}
    environ.update(PAXCAST_MODEL_DIR=str(registry), **env)
    return subprocess.run(SERVE, env=environ, capture_output=True, text=True, timeout=timeout)
