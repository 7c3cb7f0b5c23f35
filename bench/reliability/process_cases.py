"""Issue 30's process cases: SIGKILL of the multi-worker supervisor, and starting on a port already in use."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import time
import urllib.request
from pathlib import Path

from bench.reliability.harness import Options, Server, run_cli, server_env


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None  # gone


def environ_of(pid: int) -> dict[str, str]:
    with contextlib.suppress(OSError):
        raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        return dict(item.decode(errors="replace").partition("=")[::2] for item in raw if b"=" in item)
    return {}


def answers_healthz(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
        return True
    except OSError:
        return False


def supervisor_sigkill(options: Options) -> dict:
    """PAXCAST_WORKERS=2; SIGKILL the supervisor; do the workers die, is the metrics directory removed, can a
    new `paxcast serve` bind the port? Everything left is killed by pid and removed afterwards."""
    server = Server(options, workers=2)
    workers = children_of(server.process.pid)
    metrics_dir = next((environ_of(w).get("PROMETHEUS_MULTIPROC_DIR") for w in workers), None)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(parent_of(w) for w in workers):
        time.sleep(0.1)
    alive = [w for w in workers if parent_of(w) is not None]
    orphans_serving = answers_healthz(server.port)
    leaked = bool(metrics_dir) and Path(metrics_dir).exists()
    successor = Server(options, wait=False, port=server.port)
    try:
        deadline = time.monotonic() + 20
        # Not /healthz: orphans still listening would answer it. The successor's own log says whether it bound.
        while time.monotonic() < deadline and successor.process.poll() is None:
            if "Uvicorn running" in successor.output():
                break
            time.sleep(0.2)
        successor_exit = successor.process.poll()
        successor_last = (successor.output().strip().splitlines() or [""])[-1][:200]
    finally:
        successor.stop()
        server.log.close()
        for w in alive:  # the orphans this case made
            with contextlib.suppress(ProcessLookupError):
                os.kill(w, signal.SIGKILL)
        if leaked:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return {
        "status": {"workers_alive_after_5s": len(alive), "workers": len(workers)},
        "orphans_parent": sorted({parent_of(w) for w in alive} - {None}) if alive else [],
        "orphans_still_serving": orphans_serving,
        "metrics_dir_leaked": leaked,
        "new_serve_exit": successor_exit,
        "new_serve_last_line": successor_last,
    }


def port_in_use(options: Options) -> dict:
    """`paxcast serve` on a port another socket listens on: its exit code and every line it printed."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = server_env(options, port, {})
        run = run_cli(options, ["serve"], options.model_dir.parent, env)
    text = run.pop("_output")
    return {
        "status": {"exit": run["exit"]},
        **run,
        "serving_lines": sum("serving" in line.lower() for line in text.splitlines()),
        "names_PAXCAST_PORT": "PAXCAST_PORT" in text,
        "errno_98": "Errno 98" in text,
    }


CASES = {
    "process-supervisor-sigkill": supervisor_sigkill,
    "process-port-in-use": port_in_use,
}
