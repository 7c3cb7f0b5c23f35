"""What every attack needs: a real `paxcast serve` on 127.0.0.1, a watcher of its memory and /healthz, a CLI child.

Stdlib only, so the same harness runs against older code put first on PYTHONPATH (docs/reliability.md).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # stdlib only: no bench.common
WATCH_S = 20.0  # how long a stalled client is watched before we call it "held"


@dataclass
class Options:
    """What a run may vary; the defaults measure today's tree with the committed models."""

    cli_module: str = "paxcast.service.cli.main"  # cb7ea76: paxcast.training.cli
    model_dir: Path = ROOT / "models"
    data_dir: Path = ROOT / "data"
    read_timeout: float | None = None
    duration: float = 20.0  # seconds of each load
    memory_wait: float = 60.0  # seconds the memory case waits before its last RSS reading
    cli_timeout: float = 60.0  # a CLI child still running then is killed
    cli_rss_cap_mb: float = 4096.0  # ... and so is one whose RSS passes this (the machine is shared)


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else float("nan")


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def server_env(options: Options, port: int, settings: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAXCAST_", "PROMETHEUS_"))}
    env.update(
        PAXCAST_PORT=str(port),
        PAXCAST_MODEL_DIR=str(options.model_dir),
        PAXCAST_DATA_DIR=str(options.data_dir),
        PAXCAST_RELOAD_INTERVAL="0",
    )
    if options.read_timeout:
        env["PAXCAST_READ_TIMEOUT"] = str(options.read_timeout)
    env.update({f"PAXCAST_{k.upper()}": str(v) for k, v in settings.items()})
    return env


class Server:
    """`paxcast serve` in a child process on a free port; `settings` become PAXCAST_* variables."""

    def __init__(self, options: Options | None = None, wait: bool = True, **settings):
        self.options = options or Options()
        self.port = int(settings.pop("port", 0)) or free_port()
        self.log = open(f"/tmp/paxcast-attacks-{self.port}.log", "w+b")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.options.cli_module, "serve"],
            env=server_env(self.options, self.port, settings),
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.base + "/readyz", timeout=2).read()
                break
            except urllib.error.HTTPError:
                break  # answering, if not ready: the attack decides what that means
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(self.output()) from None
                time.sleep(0.2)
        for _ in range(20):
            self.get("/healthz")

    def request(self, method: str, path: str, body: bytes | None = None, headers=None, timeout=30):
        """(status, headers, body) of one request on a fresh connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def get(self, path: str) -> tuple[int, bytes]:
        status, _, body = self.request("GET", path)
        return status, body

    def post(self, raw: bytes, path: str = "/v1/forecast") -> tuple[int, bytes]:
        status, _, body = self.request("POST", path, raw, timeout=120)
        return status, body

    def connect(self, timeout: float = WATCH_S + 15) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class Watch:
    """Samples a server's RSS every 20 ms and probes /healthz until stopped.

    `keep_alive` probes over one persistent connection every `every` seconds (the load cases: the
    probe should not pay a TCP handshake the load's clients do not); otherwise a fresh connection
    each time, as issue 15's attacks did.
    """

    def __init__(self, server: Server, every: float = 0.01, keep_alive: bool = False):
        self.server, self.every, self.keep_alive = server, every, keep_alive
        self.pid = server.process.pid
        self.before = rss_mb(self.pid)
        self.peak, self.latencies, self.done = [self.before], [], threading.Event()
        self.threads = [threading.Thread(target=self._sample), threading.Thread(target=self._probe)]
        self.started = time.monotonic()
        for t in self.threads:
            t.start()

    def _sample(self) -> None:
        while not self.done.is_set():
            self.peak.append(rss_mb(self.pid))
            time.sleep(0.02)

    def _probe(self) -> None:
        conn = None
        while not self.done.is_set():
            started = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                self.latencies.append(time.monotonic() - started)
            except (OSError, http.client.HTTPException) as exc:
                self.latencies.append(float("inf"))
                print("healthz:", exc, file=sys.stderr)
                conn.close()
                conn = None
            if not self.keep_alive and conn is not None:
                conn.close()
                conn = None
            time.sleep(self.every)
        if conn is not None:
            conn.close()

    def stop(self, settle: float = 1.0) -> dict:
        seconds = time.monotonic() - self.started
        self.done.set()
        for t in self.threads:
            t.join()
        time.sleep(settle)
        lat = self.latencies
        return {
            "seconds": round(seconds, 3),
            "healthz_p50_ms": ms(percentile(lat, 50)),
            "healthz_p99_ms": ms(percentile(lat, 99)),
            "healthz_max_ms": ms(max(lat, default=0)),
            "healthz_probes": len(lat),
            "rss_before_mb": round(self.before),
            "rss_peak_mb": round(max(self.peak)),
            "rss_after_mb": round(rss_mb(self.pid)),
        }


def observe(server: Server, attack, **watch) -> dict:
    """Run `attack()` under a Watch; return its result plus what was observed."""
    w = Watch(server, **watch)
    try:
        result = attack()
    finally:
        observed = w.stop()
    return {**result, **observed}


def run_cli(options: Options, args: list[str], cwd: Path, env: dict | None = None) -> dict:
    """Run `paxcast ARGS` bounded in time and RSS; its exit code, output lines and peak RSS (wait4's maxrss)."""
    started = time.monotonic()
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("PAXCAST_")} | (env or {})
    child = subprocess.Popen(
        [sys.executable, "-m", options.cli_module, *args],
        cwd=cwd,
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda: out.__setitem__("stdout", child.stdout.read())),
        threading.Thread(target=lambda: out.__setitem__("stderr", child.stderr.read())),
    ]
    for t in readers:
        t.start()
    stopped, sampled = None, 0.0
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        sampled = max(sampled, rss_mb(child.pid))
        if sampled > options.cli_rss_cap_mb and stopped is None:
            stopped = f"killed at RSS {sampled:.0f} MB (cap {options.cli_rss_cap_mb:g})"
            child.kill()
        elif time.monotonic() - started > options.cli_timeout and stopped is None:
            stopped = f"killed after {options.cli_timeout:g} s"
            child.kill()
        time.sleep(0.02)
    child.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join()
    stderr = out["stderr"].decode(errors="replace")
    stdout = out["stdout"].decode(errors="replace")
    return {
        "exit": child.returncode,
        "stopped": stopped,
        "seconds": round(time.monotonic() - started, 2),
        "stdout_lines": len(stdout.splitlines()),
        "stderr_lines": len(stderr.splitlines()),
        "traceback": "Traceback" in stderr,
        "first_line": (stderr or stdout).splitlines()[0][:200] if (stderr or stdout).strip() else "",
        "last_line": (stderr or stdout).splitlines()[-1][:200] if (stderr or stdout).strip() else "",
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "_output": stdout + stderr,
    }
