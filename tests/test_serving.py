"""tests/serving.py's stop: a server's whole process group goes, even when its main process leaves workers behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.serving import stop, wait_until

# A "server" whose main process dies on SIGTERM without stopping its worker, and a worker that ignores
# SIGTERM: what a 2-worker LitServe did under bench/peers (its workers were left orphaned and spinning).
LEAVES_A_WORKER = """
import subprocess, sys, time
worker = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"],
    stdout=subprocess.PIPE, text=True)
worker.stdout.readline()
print(worker.pid, flush=True)
time.sleep(60)
"""


def running(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie (a killed orphan stays a zombie until init reaps it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_stop_kills_the_workers_a_server_leaves_behind():
    server = subprocess.Popen(
        [sys.executable, "-c", LEAVES_A_WORKER], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    worker = int(server.stdout.readline())
    try:
        stop(server, grace=0.3)
        wait_until(lambda: not running(worker), 1, "the orphaned worker is gone")
    finally:
        if running(worker):  # never leave it spinning beside the rest of the suite
            subprocess.run(["kill", "-9", str(worker)], check=False)
    assert not running(worker)
