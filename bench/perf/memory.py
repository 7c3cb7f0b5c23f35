"""Memory flatness: the service's resident memory over 20,000 requests of varying batch sizes.

    python -m bench.perf.memory [--requests 20000] [--max-batch 300]

Starts `paxcast serve` (one worker, the model CURRENT names in --model-dir) on a free
127.0.0.1 port, sends requests one after another over a keep-alive connection with
batch sizes drawn (seeded) log-uniformly from 1..--max-batch, and reads the server's
VmRSS from /proc every 1,000 requests. The target: RSS after the last request within
10 % of RSS after the first 1,000.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT, histories, served_card, table
from paxcast.training.backtest.series_report import machine
from tests.serving import serve


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def batch_sizes(n: int, max_batch: int, seed: int = 0) -> np.ndarray:
    """`n` sizes, log-uniform in 1..max_batch: mostly small, some large, many distinct shapes."""
    rng = np.random.default_rng(seed)
    return np.clip(np.exp(rng.uniform(0, np.log(max_batch), size=n)).astype(int), 1, max_batch)


def server_pid(port: int) -> int:
    """The pid listening on `port` (the uvicorn process that serves it)."""
    inode = None
    for table_path in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table_path).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                inode = fields[9]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]" for fd in os.listdir(f"/proc/{pid}/fd")):
                return int(pid)
        except OSError:
            continue
    raise RuntimeError(f"no process listens on {port}")


def http_run(args, card) -> list[list[object]]:
    sizes = batch_sizes(args.requests, args.max_batch)
    rows = histories(card, args.max_batch, seed=3).tolist()
    bodies = {
        k: json.dumps(
            {"series": [{"id": f"s{i}", "history": rows[i]} for i in range(k)], "horizon": card.horizon}
        ).encode()
        for k in np.unique(sizes)
    }
    out = []
    with (
        tempfile.TemporaryDirectory(prefix="paxcast-bench-") as tmp,
        serve(args.model_dir, Path(tmp) / "server.log", workers=1, log_level="warning") as server,
    ):
        port = server.port
        pid = server_pid(port)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        started = time.perf_counter()
        series = 0
        for n, size in enumerate(sizes, start=1):
            connection.request("POST", "/v1/forecast", body=bodies[size], headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"request {n} ({size} series) answered {response.status}")
            series += int(size)
            if n % 1000 == 0:
                out.append([f"{n:,}", f"{series:,}", f"{rss_mib(pid):.1f}", f"{time.perf_counter() - started:.0f}"])
                print(f"  {n:6d} requests, {series:9,d} series, RSS {out[-1][2]} MiB", flush=True)
        connection.close()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--max-batch", type=int, default=300, help="largest batch (series per request)")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--name", default="air_passengers")
    args = parser.parse_args(argv)

    card = served_card(args.model_dir, args.name)
    print(f"model {args.name}/{card.version} from {args.model_dir}", flush=True)
    rows = http_run(args, card)
    first, last = float(rows[0][2]), float(rows[-1][2])
    print()
    print(f"machine: {machine()}")
    print(
        f"{args.requests:,} requests, batch sizes log-uniform 1..{args.max_batch} (seed 0), one keep-alive connection"
    )
    print(table(["requests", "series so far", "server RSS MiB", "seconds"], rows))
    verdict = "within" if abs(last / first - 1) <= 0.10 else "NOT within"
    print(
        f"RSS after {rows[-1][0]} requests vs after {rows[0][0]}: {first:.1f} -> {last:.1f} MiB "
        f"({(last / first - 1) * 100:+.1f} %), {verdict} the 10 % target"
    )


if __name__ == "__main__":
    main()
