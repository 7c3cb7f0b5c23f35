"""`paxcast backtest --engine ray`: a multi-series backtest's origins and peers as Ray tasks.

Each origin's global model (train on the cut's past, register, forecast through the service's
`Predictor`: `backtest.network.serve_ours`, unchanged) is one task. Each statistical peer runs per
series, so its series are split into chunks of at most CHUNK_SERIES, one task each, and the chunks'
forecasts are put back in the cut's order (`backtest.peers.peer_forecast`, unchanged, on each chunk).
The driver assembles the same `OriginRun`s as the local run (`backtest.network.origin_run`), so the
tables, JSON and plot are written by the same code. statsforecast fits every series on its own, so
a peer's forecasts are bit-for-bit those of the local run whatever the chunking. A peer's `seconds`
is the sum of its chunks' fit times (CPU time across the cluster, not wall time).

This module imports Ray; nothing imports it unless `--engine ray` is given.
"""

from __future__ import annotations

import os

import numpy as np
import ray
import torch

from paxcast.service.core.contract import sha256_of
from paxcast.training.backtest.network import (
    OURS,
    Forecast,
    OriginRun,
    Plan,
    log_ours,
    log_peer,
    origin_line,
    origin_run,
    peer_rows,
    serve_ours,
)
from paxcast.training.backtest.peers import POOL_FROM, peer_forecast
from paxcast.training.network.ray import RaySettings, session

# Series per peer task: below POOL_FROM, so a task never starts statsforecast's own process pool.
CHUNK_SERIES = min(48, POOL_FROM - 1)


def ours_task(plan: Plan, k: int, data_sha256: str, threads: int) -> tuple[Forecast, dict, int]:
    """The global model at origin k, trained and served as the local backtest does, on `threads` torch threads."""
    torch.set_num_threads(threads)
    return serve_ours(plan, plan.cuts[k], data_sha256, show_progress=False)


def peer_task(method: str, ids: list[str], histories: list[np.ndarray], freq: str, season: int, horizon: int, levels):
    """One peer on one chunk of series: peer_forecast's dict plus the load average before and after."""
    load = os.getloadavg()[0]
    out = peer_forecast(method, ids, histories, freq, season, horizon, levels)
    out["load"] = (load, os.getloadavg()[0])
    return out


def chunks(n: int) -> list[np.ndarray]:
    """Row indices 0..n-1 in consecutive pieces of at most CHUNK_SERIES."""
    return [np.arange(start, min(start + CHUNK_SERIES, n)) for start in range(0, n, CHUNK_SERIES)]


def joined(pieces: list[dict], levels: list[int], rows: np.ndarray | None) -> Forecast:
    """The chunks' forecasts as one Forecast, rows in the cut's order."""
    return Forecast(
        mean=np.concatenate([p["mean"] for p in pieces]),
        intervals={
            level: (
                np.concatenate([p["intervals"][level][0] for p in pieces]),
                np.concatenate([p["intervals"][level][1] for p in pieces]),
            )
            for level in levels
        },
        seconds=sum(p["seconds"] for p in pieces),
        load=(pieces[0]["load"][0], pieces[-1]["load"][1]),
        rows=rows,
    )


def run_global_backtest_ray(plan: Plan, settings: RaySettings, log=print) -> list[OriginRun]:
    """Every origin and every peer chunk submitted at once; results assembled and logged in the local order."""
    with session(settings.address):
        cpus = settings.cpus_per_worker
        ours = ray.remote(num_cpus=cpus)(ours_task)
        peer = ray.remote(num_cpus=1)(peer_task)
        plan_ref = ray.put(plan)
        data_sha256 = sha256_of(plan.data)
        # The longest tasks (training) first, so the peers fill the CPUs around them.
        trained = [ours.remote(plan_ref, k, data_sha256, cpus) for k in range(len(plan.cuts))]
        submitted: dict[tuple[int, str], tuple[np.ndarray | None, list]] = {}
        for k, c in enumerate(plan.cuts):
            for method in plan.peers:
                rows = peer_rows(plan, c, method)
                order = np.arange(len(c.ids)) if rows is None else rows
                refs = [
                    peer.remote(
                        method,
                        [c.ids[i] for i in order[piece]],
                        [c.histories[i] for i in order[piece]],
                        c.freq,
                        plan.config.season,
                        c.horizon,
                        plan.levels,
                    )
                    for piece in chunks(len(order))
                ]
                submitted[k, method] = (rows, refs)
        runs = []
        for k, c in enumerate(plan.cuts):
            log(origin_line(plan, k))
            forecast, training, imputed = ray.get(trained[k])
            log_ours(log, c, forecast, training, imputed)
            forecasts = {OURS: forecast}
            for method in plan.peers:
                rows, refs = submitted[k, method]
                forecasts[method] = joined(ray.get(refs), plan.levels, rows)
                log_peer(log, c, method, forecasts[method])
            runs.append(origin_run(plan, c, forecasts, training, imputed))
        return runs
