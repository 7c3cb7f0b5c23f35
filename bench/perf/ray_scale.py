"""One process against Ray Train on the Seoul network: training throughput, and backtest accuracy.

    python -m bench.perf.ray_scale throughput --mode local2 [--steps 1000]   # local2 local1 ray1 ray2 ray2-b512
    python -m bench.perf.ray_scale accuracy --mode ray2 --seed 0 [--steps 3000]   # local | ray2
    python -m bench.perf.ray_scale allreduce [--steps 1000]   # 2 processes, gloo on loopback, the model's gradient size
    python -m bench.perf.ray_scale project   # docs/scale.md's projection, from the newest line of each run above

One mode per run, each in its own process (and, for Ray, its own local cluster of this machine's
CPUs), so each number carries its own load average. Every run prints one JSON line and appends it
to bench/results/ray_scale.jsonl; docs/scale.md has the tables.

- throughput: `train_global` on all 584 stations (calendar KR, the shipped model's settings) for
  `--steps`; local2/local1 are this process on 2/1 torch threads; rayN is `network.ray.RayTrainer`
  with N workers of 1 CPU and 1 thread each, the batch of 256 windows split between them;
  ray2-b512 gives each of 2 workers 256 windows (a global batch of 512), local1-b128 is one
  thread on 128 windows a step (what one of 2 workers computes). Windows/s is the windows
  drawn over rank 0's `train_global` time (data placement and validation checks included).
- accuracy: the backtest of `paxcast backtest` (`--origins`, default: the data's last two
  horizons of 28 days) through `backtest.network.serve_ours` (fit, registry, the service's Predictor), with
  the network trained here (local) or by 2 DDP workers (ray2); pooled WAPE over both origins.
- allreduce: two processes in one gloo process group on 127.0.0.1 all-reduce a float32 tensor of
  the model's parameter count `--steps` times (after 20 warm-ups), as DDP does every step; the
  median and p90 per call. The communication alone, without a Ray cluster or a training step.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from bench.common import ROOT
from paxcast.service.core.contract import sha256_of
from paxcast.training.backtest.network import plan_backtest, serve_ours
from paxcast.training.backtest.peers import peer_forecast
from paxcast.training.backtest.series_report import machine
from paxcast.training.data import read_series
from paxcast.training.metrics import wape
from paxcast.training.network.pipeline import make_calendar, resolve_global_config
from paxcast.training.network.train import train_global

SEOUL = ROOT / "data/seoul_subway_daily/seoul_subway_daily.csv.gz"
RESULTS = ROOT / "bench/results/ray_scale.jsonl"


def trainer_for(mode: str):
    """train_global here (local*), or a RayTrainer with the mode's workers (ray*)."""
    if mode.startswith("local"):
        torch.set_num_threads(int(mode[5:6] or os.cpu_count()))
        return train_global
    from paxcast.training.network.ray import RaySettings, RayTrainer

    return RayTrainer(RaySettings(workers=int(mode[3])))


def throughput(mode: str, steps: int) -> dict:
    series = read_series(SEOUL)
    calendar = make_calendar("D", "KR", None, None)
    config = resolve_global_config(series, len(calendar.names), steps=steps)
    if mode in ("ray2-b512", "local1-b128"):
        config = config.updated(batch_size=int(mode.split("-b")[1]))
    train = trainer_for(mode)
    load = os.getloadavg()[0]
    began = time.perf_counter()
    result = train(series, config, calendar, show_progress=False)
    wall = time.perf_counter() - began
    params = sum(p.numel() for p in result.model.parameters())
    return {
        "what": "throughput",
        "mode": mode,
        "steps": steps,
        "batch": config.batch_size,
        "windows": result.windows_drawn,
        "train_s": round(result.seconds, 2),
        "windows_per_s": round(result.windows_drawn / result.seconds),
        "wall_s": round(wall, 2),  # for Ray: cluster start, worker group, process group, result transfer
        "params": params,
        "allreduce_bytes_per_step": params * 4,
        "best_step": result.best_step,
        "val_wape": round(result.val_wape, 3),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def accuracy(mode: str, seed: int, steps: int | None, origins: str | None) -> dict:
    series = read_series(SEOUL)
    plan = plan_backtest(SEOUL, series, origins, [], [], None, {"country": "KR"}, {"steps": steps, "seed": seed})
    train = trainer_for(mode)
    data_sha256 = sha256_of(SEOUL)
    means, naive, actuals, per_origin, facts = [], [], [], {}, []
    load = os.getloadavg()[0]
    began = time.perf_counter()
    for c in plan.cuts:
        forecast, training, _ = serve_ours(plan, c, data_sha256, False, train=train)
        base = peer_forecast("SeasonalNaive", c.ids, c.histories, c.freq, plan.config.season, c.horizon, [])
        means.append(forecast.mean)
        naive.append(base["mean"])
        actuals.append(c.actuals)
        per_origin[c.label] = round(wape(c.actuals, forecast.mean), 3)
        facts.append({k: training[k] for k in ("best_step", "val_wape", "train_s")})
    return {
        "what": "accuracy",
        "mode": mode,
        "seed": seed,
        "steps": plan.config.steps,
        "wape": round(wape(np.concatenate(means), np.concatenate(actuals)), 3),
        "wape_by_origin": per_origin,
        "seasonal_naive_wape": round(wape(np.concatenate(actuals), np.concatenate(naive)), 3),
        "training": facts,
        "wall_s": round(time.perf_counter() - began, 1),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def allreduce_worker(rank: int, port: int, numel: int, calls: int, out) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    tensor = torch.ones(numel)
    times = []
    for k in range(calls + 20):
        began = time.perf_counter()
        dist.all_reduce(tensor)
        if k >= 20:
            times.append(time.perf_counter() - began)
    dist.destroy_process_group()
    if rank == 0:
        out.put(times)


def allreduce(calls: int) -> dict:
    import socket

    import torch.multiprocessing as mp

    from paxcast.service.core.hyperparameters import GlobalTrainConfig
    from paxcast.training.network.model import GlobalForecaster

    model = GlobalForecaster(GlobalTrainConfig(window=28, horizon=28, season=7, features=12))
    numel = sum(p.numel() for p in model.parameters())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    load = os.getloadavg()[0]
    workers = [ctx.Process(target=allreduce_worker, args=(r, port, numel, calls, out)) for r in range(2)]
    for w in workers:
        w.start()
    times = np.array(out.get(timeout=300)) * 1000
    for w in workers:
        w.join(timeout=60)
    return {
        "what": "allreduce",
        "numel": numel,
        "bytes": numel * 4,
        "calls": calls,
        "median_ms": round(float(np.median(times)), 3),
        "p90_ms": round(float(np.percentile(times, 90)), 3),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


# The projection's assumptions (docs/scale.md says why each).
STATIONS, SHIPPED_STATIONS, SHIPPED_WINDOWS = 10_000, 584, 3000 * 256
LATENCY_S, BANDWIDTH_BPS = 50e-6, 1.25e9  # per message between pods; 10 Gbit/s
FORWARD_SHARE = 1 / 3  # a validation window (forward only) costs a third of a training window (forward + backward)


def full_runs(records: list[dict], what: str, mode: str | None = None) -> list[dict]:
    """Every full-length (1,000 steps or calls) record of that kind."""
    same = [r for r in records if r["what"] == what and r.get("mode") == mode]
    return [r for r in same if r.get("steps", r.get("calls", 0)) >= 1000]


def mean_of(records: list[dict], key: str, mode: str) -> float:
    """The mean of `key` over every full-length throughput run of `mode`."""
    return float(np.mean([r[key] for r in full_runs(records, "throughput", mode)]))


def project() -> dict:
    """Hours to train 10,000 stations for the shipped model's windows per station, by workers and batch.

    Step costs are the mean over the full-length runs of each mode."""
    records = [json.loads(line) for line in RESULTS.read_text().splitlines()]
    per_step = {m: mean_of(records, "train_s", m) / 1000 for m in ("local1", "local1-b128")}
    k = (per_step["local1"] - per_step["local1-b128"]) / 128  # seconds per window, one thread
    a = per_step["local1-b128"] - 128 * k  # seconds per step whatever the batch
    measured = full_runs(records, "allreduce")[-1]
    size = measured["bytes"]
    windows = STATIONS * SHIPPED_WINDOWS / SHIPPED_STATIONS
    check = STATIONS * k * FORWARD_SHARE  # one validation pass over one window per station, one thread

    def ring(workers: int) -> float:
        return (
            0.0 if workers == 1 else 2 * (workers - 1) * LATENCY_S + 2 * (workers - 1) / workers * size / BANDWIDTH_BPS
        )

    rows = []
    for workers in (1, 2, 8, 64):
        for scheme, batch in (("global batch 256", 256 // workers), ("256 per worker", 256)):
            if workers == 1 and scheme == "256 per worker":
                continue
            steps = windows / (batch * workers)
            step_s = a + k * batch + ring(workers)
            seconds = steps * step_s + steps / 100 * check
            rows.append(
                {
                    "workers": workers,
                    "scheme": scheme,
                    "windows_per_worker_step": batch,
                    "steps": round(steps),
                    "step_ms": round(step_s * 1000, 2),
                    "allreduce_ms": round(ring(workers) * 1000, 3),
                    "validation_s": round(steps / 100 * check),
                    "hours": round(seconds / 3600, 2),
                }
            )
    local2_rate = mean_of(records, "windows_per_s", "local2")
    return {
        "what": "projection",
        "inputs": {
            "s_per_step_fixed": round(a, 5),
            "s_per_window": round(k, 7),
            "allreduce_loopback_ms": measured["median_ms"],
            "allreduce_bytes": size,
            "windows": round(windows),
            "one_machine_2_threads_hours": round(windows / local2_rate / 3600, 2),
        },
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.perf.ray_scale")
    parser.add_argument("what", choices=("throughput", "accuracy", "allreduce", "project"))
    modes = ("local", "local1", "local2", "local1-b128", "ray1", "ray2", "ray2-b512")
    parser.add_argument("--mode", choices=modes)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--origins", help="accuracy: as paxcast backtest --origins (default: the data's last two)")
    args = parser.parse_args(argv)
    if args.what == "project":
        print(json.dumps(project(), indent=1))
        return
    if args.what == "allreduce":
        record = allreduce(args.steps or 1000)
    elif args.what == "throughput":
        record = throughput(args.mode, args.steps or 1000)
    else:
        record = accuracy(args.mode, args.seed, args.steps, args.origins)
    record["machine"] = machine()
    line = json.dumps(record)
    print(line, flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as out:
        out.write(line + "\n")


if __name__ == "__main__":
    main()
