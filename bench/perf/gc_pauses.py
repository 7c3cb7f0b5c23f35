"""Garbage-collector pauses in the real service under load, with and without its frozen heap.

    python -m bench.perf.gc_pauses [--seconds 5] [--rounds 2] [--model-dir models]

`paxcast serve` (1 worker, every model in --model-dir) is driven by wrk with single-series
requests at concurrency 16 and then 64. A `sitecustomize` put on the server's PYTHONPATH
times every collection (gc.callbacks) and writes the pauses when the server stops. Variant
"frozen" is the service as it ships (holder.settle_heap freezes the loaded heap); variant
"unfrozen" turns `gc.freeze` into a no-op, which is how the service ran before. Rounds
interleave the variants; the table gives each variant's pauses over all its rounds and the
median rate and p99 of wrk.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

from bench.common import ROOT, histories, served_card, table
from bench.perf.http import HORIZON, run_wrk
from paxcast.training.backtest.series_report import machine
from tests.serving import serve

# Written into the server's PYTHONPATH: times collections, dumps them at exit; BENCH_GC_UNFROZEN disables freezing.
SITECUSTOMIZE = """
import atexit, gc, json, os, time
if os.environ.get("BENCH_GC_UNFROZEN") == "1":
    gc.freeze = lambda: None
_started, _pauses, _heap = [0.0], [], {"walked": 0, "frozen": 0}
def _time(phase, info):
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    _pauses.append((info["generation"], time.perf_counter() - _started[0]))
    if info["generation"] == 2:  # counted after the pause is timed: the oldest generation and the frozen heap
        _heap.update(walked=len(gc.get_objects(generation=2)), frozen=gc.get_freeze_count())
gc.callbacks.append(_time)
@atexit.register
def _dump():
    path = os.path.join(os.environ["BENCH_GC_OUT"], f"{os.getpid()}.json")
    with open(path, "w") as out:
        json.dump({"pauses": _pauses, **_heap}, out)
"""

VARIANTS = {"frozen": "0", "unfrozen": "1"}
CONNECTIONS = (16, 64)


def run_variant(variant: str, model_dir: Path, body: Path, seconds: float, folder: Path) -> dict:
    out = folder / f"{variant}-{len(list(folder.glob(variant + '-*')))}"
    out.mkdir()
    (folder / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    os.environ.update(
        BENCH_GC_UNFROZEN=VARIANTS[variant], BENCH_GC_OUT=str(out), PYTHONPATH=f"{folder / 'site'}:{ROOT}"
    )
    loads = {}
    with serve(model_dir, out / "server.log", timeout=120) as server:
        for connections in CONNECTIONS:
            url = f"{server.base}/v1/forecast"
            run_wrk(url, body, connections, 1)
            loads[connections] = run_wrk(url, body, connections, seconds) | {"load_avg": os.getloadavg()[0]}
    dumps = [json.loads(path.read_text()) for path in out.glob("*.json")]
    worker = max(dumps, key=lambda d: len(d["pauses"]))  # the process that served (the parent only starts it)
    return {"loads": loads, "pauses": worker["pauses"], "walked": worker["walked"], "frozen": worker["frozen"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models")
    args = parser.parse_args(argv)
    card = served_card(args.model_dir, "air_passengers")
    runs: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="paxcast-gc-") as tmp:
        folder = Path(tmp)
        (folder / "site").mkdir()
        body = folder / "body.json"
        history = histories(card, 1, seed=1)[0].tolist()
        body.write_text(json.dumps({"series": [{"id": "s0", "history": history}], "horizon": HORIZON}))
        saved = {key: os.environ.get(key) for key in ("BENCH_GC_UNFROZEN", "BENCH_GC_OUT", "PYTHONPATH")}
        try:
            for round_number in range(1, args.rounds + 1):
                for variant in VARIANTS:
                    run = run_variant(variant, args.model_dir, body, args.seconds, folder)
                    runs[variant].append(run)
                    print(f"  round {round_number} {variant}: {len(run['pauses'])} collections", flush=True)
        finally:
            for key, value in saved.items():
                os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    rows = []
    for variant, variant_runs in runs.items():
        full = [seconds * 1e3 for run in variant_runs for generation, seconds in run["pauses"] if generation == 2]
        row = [
            variant,
            f"{statistics.median(run['walked'] for run in variant_runs):,.0f}",
            f"{statistics.median(run['frozen'] for run in variant_runs):,.0f}",
            len(full) // len(variant_runs),
            f"{statistics.median(full):.2f}" if full else "-",
            f"{max(full):.2f}" if full else "-",
        ]
        for connections in CONNECTIONS:
            loads = [run["loads"][connections] for run in variant_runs]
            row += [
                f"{statistics.median(load['rps'] for load in loads):.0f}",
                f"{statistics.median(load['p99_ms'] for load in loads):.2f}",
            ]
        row.append(f"{statistics.median(run['loads'][16]['load_avg'] for run in variant_runs):.2f}")
        rows.append(row)
    headers = ["heap", "oldest generation", "frozen", "full collections per run", "median ms", "max ms"]
    headers += [f"{label} c={c}" for c in CONNECTIONS for label in ("req/s", "p99 ms")] + ["load avg"]
    print(f"machine: {machine()}")
    print(table(headers, rows))


if __name__ == "__main__":
    main()
