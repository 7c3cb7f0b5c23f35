"""`paxcast backtest` on a multi-series file: the global model as `paxcast train` ships it and the service
serves it, against statistical peers, on rolling origins.

For each origin every series is cut there (`backtest.cuts`). The global network trains on the pasts
with `paxcast train`'s own code (`make_calendar`, `resolve_global_config`, `check_global_series`,
`fit_global`), is registered into a temporary registry and loaded by the service's `Predictor`
(`served.served_predictor`), which answers one request holding every scored series with its `start`
and the interval levels (`served.served_forecast`): what is measured is what is served. A history
whose last `window` values have a gap cannot be posted (the service refuses NaN), so such gaps
are imputed (`cuts.impute`), as the peers' inputs are, and counted.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paxcast.service.core.calendar import FREQ_NAMES, iso, step
from paxcast.service.core.contract import sha256_of
from paxcast.service.core.covariates import Calendar
from paxcast.service.core.exceptions import DataError, UsageError
from paxcast.service.core.hyperparameters import GlobalTrainConfig
from paxcast.service.inference.predictor import Predictor
from paxcast.training.backtest.cuts import Cut, cut, default_origins, impute, parse_origins, split_cut, subset_rows
from paxcast.training.backtest.general import load_general
from paxcast.training.backtest.peers import peer_forecast
from paxcast.training.backtest.peers import peer_history as resolve_peer_history
from paxcast.training.data import Series, read_series
from paxcast.training.metrics import mase_scale
from paxcast.training.network.pipeline import check_global_series, fit_global, make_calendar, resolve_global_config
from paxcast.training.network.train import train_global
from paxcast.training.served import served_forecast, served_predictor

OURS = "paxcast global LSTM"
REGISTERED_AS = "backtest"  # the model's name in each origin's temporary registry


@dataclass
class Plan:
    """Everything a multi-series backtest needs, checked against the data before any training starts."""

    data: Path
    config: GlobalTrainConfig
    calendar: Calendar
    holiday_file: str | None
    cuts: list[Cut]
    levels: list[int]
    peers: list[str]
    peer_series: int | None  # peers other than SeasonalNaive run on this many random series
    peer_history: int | None = None  # the peers read each history's last this many values (None: peers.PEER_HISTORY)
    # `--train-on`: the network (and NHITS) train on this file's series, not on each cut's past, and forecast
    # the scored series zero-shot: a general model judged on sources it never saw
    train: list[Series] | None = None
    train_file: Path | None = None
    general: tuple[str, Predictor] | None = None  # `--general`: a registered model scored zero-shot beside ours


@dataclass
class Forecast:
    """One method at one origin: mean (rows, horizon) and intervals on `rows` of the cut (None: all of them)."""

    mean: np.ndarray
    intervals: dict[int, tuple[np.ndarray, np.ndarray]]
    seconds: float
    load: tuple[float, float]  # 1-minute load average before and after
    rows: np.ndarray | None = None


@dataclass
class OriginRun:
    cut: Cut
    scales: np.ndarray  # (n,) each scored series' MASE scale
    imputed: dict[str, int]
    training: dict
    forecasts: dict[str, Forecast]


def plan_backtest(
    data: str | Path,
    series: list[Series],
    origins: str | None,
    levels: list[int],
    peers: list[str],
    peer_series: int | None,
    calendar_flags: dict,
    overrides: dict,
    test: str | Path | None = None,
    peer_history: int | None = None,
    train_on: str | Path | None = None,
    general: str | Path | None = None,
) -> Plan:
    """Resolve the config and cut every origin (or the one split of `test`, a file of each series' actuals after
    its history); every usage or data error is raised here, before training.

    `train_on`: the network trains on that file's series with its own defaults (as `paxcast train` on it would)
    and forecasts `data`'s series zero-shot on `test`'s split. `general`: a registered model (`load_general`)
    forecasts them too, zero-shot."""
    if peer_series is not None and peer_series < 1:
        raise UsageError(f"--peer-series must be at least 1, got {peer_series}")
    data = Path(data)
    holidays = calendar_flags.get("holidays")
    calendar = make_calendar(series[0].freq, calendar_flags.get("country"), calendar_flags.get("subdiv"), holidays)
    if (train_on or general) is not None and test is None:
        raise UsageError("--train-on and --general score a multi-series file zero-shot on --test's split; give --test")
    train = None
    if train_on is not None:
        train = read_series(train_on)
        if train[0].freq != series[0].freq:
            raise DataError(f"{train_on}: {FREQ_NAMES[train[0].freq]} data; {data} is {FREQ_NAMES[series[0].freq]}")
    if test is not None:
        if origins:
            raise UsageError("--origins and --test are two ways to split; give one")
        future = read_series(test)
        if future[0].freq != series[0].freq:
            raise DataError(f"{test}: {FREQ_NAMES[future[0].freq]} data; {data} is {FREQ_NAMES[series[0].freq]}")
        if train is None:  # trained on the histories themselves: the horizon is the test's
            overrides = {"horizon": len(future[0].y)} | {k: v for k, v in overrides.items() if v is not None}
    config = resolve_global_config(train or series, len(calendar.names), **overrides)
    if test is not None:
        cuts = [split_cut(series, future, str(test), config.shortest, config.season)]
        if cuts[0].horizon > config.horizon:
            raise UsageError(f"--horizon {config.horizon} is shorter than the test's {cuts[0].horizon} steps")
    else:
        when = parse_origins(origins, series, config.horizon) if origins else default_origins(series, config.horizon)
        cuts = [cut(series, origin, config.horizon, config.shortest, config.season) for origin in when]
    if train is not None:
        check_global_series(train_on, train, config)
    else:
        for c in cuts:
            check_global_series(f"{data} before {c.label}", c.past, config)
    holiday_file = Path(holidays).name if holidays else None
    if peer_history is not None:
        resolve_peer_history(series[0].freq, peer_history, config.season)
    registered = None
    if general is not None:
        shortest = min(len(h) for h in cuts[0].histories)
        registered = load_general(general, series[0].freq, cuts[0].horizon, shortest)
    return Plan(
        data,
        config,
        calendar,
        holiday_file,
        cuts,
        levels,
        peers,
        peer_series,
        peer_history,
        train,
        None if train_on is None else Path(train_on),
        registered,
    )


def posted_series(c: Cut, window: int, season: int) -> tuple[list[Series], int]:
    """What is posted to the service for each scored series: its last `window` values (or all, if fewer), ending
    at its last history timestamp; a gap there is imputed (the service refuses NaN).

    Returns the series and how many of their windows had a gap."""
    posted, imputed = [], 0
    for row, (series_id, history) in enumerate(zip(c.ids, c.histories, strict=True)):
        tail = history[-window:]
        if np.isnan(tail).any():
            imputed += 1
            tail = impute(history, season)[-window:]
        start = iso(step(c.end(row), c.freq, -(len(tail) - 1)), c.freq)
        posted.append(Series(series_id, start, c.freq, tail))
    return posted, imputed


def serve_ours(
    plan: Plan, c: Cut, data_sha256: str, show_progress: bool, train=train_global
) -> tuple[Forecast, dict, int]:
    """Train on the cut's past as `paxcast train` does, register, load with the service's Predictor, forecast
    (`served_predictor`, `served_forecast`: what is measured is what is served).

    `train`: fit_global's trainer (bench/perf/ray_scale.py passes `network.ray.RayTrainer` for DDP training)."""
    config = plan.config
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="paxcast-backtest-") as tmp:
        started = time.perf_counter()
        past = c.past if plan.train is None else plan.train
        fitted = fit_global(
            past, config, plan.calendar, Path(tmp), plan.holiday_file, show_progress=show_progress, train=train
        )
        fit_seconds = time.perf_counter() - started
        data_name = (plan.train_file or plan.data).name
        predictor = served_predictor(fitted, Path(tmp) / "registry", REGISTERED_AS, data_name, data_sha256)
        posted, imputed = posted_series(c, fitted.config.window, config.season)  # the base may widen the window
        started = time.perf_counter()
        served = served_forecast(predictor, posted, c.horizon, plan.levels, OURS)
        serve_seconds = time.perf_counter() - started
    r = fitted.result
    training = {
        "series": len(past),
        "best_step": r.best_step,
        "network": "on" if fitted.network_on else "off",
        "metric": config.metric,  # the validation score that picked the checkpoint
        "base": fitted.naive,  # the naive the network corrects, chosen on validation
        "window": fitted.config.window,
        "val_wape": round(r.val_wape, 4),
        "val_baseline_wape": round(r.baseline_wape, 4),
        "val_mase": round(r.val_mase, 4),
        "val_baseline_mase": round(r.baseline_mase, 4),
        "val_windows": len(r.validation.history),
        "val_windows_skipped": r.validation.skipped,
        "train_s": round(r.seconds, 2),
        "fit_s": round(fit_seconds, 2),  # training + export + parity check
        "serve_s": round(serve_seconds, 3),  # the service's answer for every scored series
        "peak_rss_mb": round(r.peak_rss_mb, 1),
        "parity": fitted.parity_error,
    }
    forecast = Forecast(served["mean"], served["intervals"], seconds=fit_seconds, load=(load, os.getloadavg()[0]))
    return forecast, training, imputed


def serve_general(plan: Plan, c: Cut) -> Forecast:
    """The registered general model's zero-shot answer for every scored series, as the service gives it."""
    label, predictor = plan.general
    load = os.getloadavg()[0]
    posted, _ = posted_series(c, predictor.window, predictor.card.season)
    started = time.perf_counter()
    served = served_forecast(predictor, posted, c.horizon, plan.levels, label)
    seconds = time.perf_counter() - started
    return Forecast(served["mean"], served["intervals"], seconds, (load, os.getloadavg()[0]))


def peer_rows(plan: Plan, c: Cut, method: str) -> np.ndarray | None:
    """The rows of the cut a peer runs on: a random subset when --peer-series asks for one, else None (all)."""
    if plan.peer_series is not None and not method.startswith("SeasonalNaive") and plan.peer_series < len(c.ids):
        return subset_rows(len(c.ids), plan.peer_series)
    return None


def run_peer(plan: Plan, c: Cut, method: str) -> Forecast:
    """One statsforecast peer on the cut (on a random subset of series when --peer-series asks for one)."""
    rows = peer_rows(plan, c, method)
    ids = c.ids if rows is None else [c.ids[i] for i in rows]
    histories = c.histories if rows is None else [c.histories[i] for i in rows]
    load = os.getloadavg()[0]
    trained_on = None if plan.train is None or method != "NHITS" else plan.train
    window = None if trained_on is None else plan.config.window
    out = peer_forecast(
        method,
        ids,
        histories,
        c.freq,
        plan.config.season,
        c.horizon,
        plan.levels,
        plan.peer_history,
        trained_on,
        window,
    )
    return Forecast(out["mean"], out["intervals"], out["seconds"], (load, os.getloadavg()[0]), rows)


def run_origin(plan: Plan, c: Cut, data_sha256: str, log, show_progress: bool) -> OriginRun:
    ours, training, imputed = serve_ours(plan, c, data_sha256, show_progress)
    log_ours(log, c, ours, training, imputed)
    forecasts = {OURS: ours}
    if plan.general is not None:
        forecasts[plan.general[0]] = serve_general(plan, c)
        log_peer(log, c, plan.general[0], forecasts[plan.general[0]])
    for method in plan.peers:
        forecasts[method] = run_peer(plan, c, method)
        log_peer(log, c, method, forecasts[method])
    return origin_run(plan, c, forecasts, training, imputed)


def log_ours(log, c: Cut, ours: Forecast, training: dict, imputed: int) -> None:
    metric = training["metric"]
    unit, digits = ("%", 2) if metric == "wape" else ("", 3)
    log(
        f"  {OURS}: trained on {training['series']} series in {training['fit_s']:.1f}s (best step "
        f"{training['best_step']}, validation {metric.upper()} {training[f'val_{metric}']:.{digits}f}{unit} vs "
        f"{training['base']} {training[f'val_baseline_{metric}']:.{digits}f}{unit}, window {training['window']}), "
        "served "
        f"{len(c.ids)} forecasts in {training['serve_s']:.2f}s "
        f"({imputed} posted histories imputed); load {ours.load[0]:.2f} -> {ours.load[1]:.2f}"
    )


def log_peer(log, c: Cut, method: str, f: Forecast) -> None:
    on = f"{len(c.ids) if f.rows is None else len(f.rows)} series"
    log(f"  {method}: {f.seconds:.1f}s on {on}; load {f.load[0]:.2f} -> {f.load[1]:.2f}")


def origin_run(plan: Plan, c: Cut, forecasts: dict[str, Forecast], training: dict, imputed: int) -> OriginRun:
    """One origin's forecasts (ours first, then the peers) with what scoring needs beside them."""
    gaps = sum(int(np.isnan(h).any()) for h in c.histories)
    return OriginRun(
        cut=c,
        scales=np.array([mase_scale(h, plan.config.season) for h in c.histories]),
        imputed={"posted_windows": imputed, "histories_with_gaps": gaps},
        training=training,
        forecasts=forecasts,
    )


def run_global_backtest(plan: Plan, log=print, show_progress: bool | None = None) -> list[OriginRun]:
    """Every origin in order, with progress lines."""
    show_progress = sys.stderr.isatty() if show_progress is None else show_progress
    data_sha256 = sha256_of(plan.train_file or plan.data)
    runs = []
    for k, c in enumerate(plan.cuts):
        log(origin_line(plan, k))
        runs.append(run_origin(plan, c, data_sha256, log, show_progress))
    return runs


def origin_line(plan: Plan, k: int) -> str:
    c = plan.cuts[k]
    dropped = ", ".join(f"{why.replace('_', ' ')} {n}" for why, n in c.dropped.items())
    return (
        f"origin {c.label} ({k + 1}/{len(plan.cuts)}, horizon {c.horizon}): {len(c.ids)} series scored, "
        f"dropped {sum(c.dropped.values())} ({dropped}); started {dt.datetime.now():%H:%M:%S}"
    )
