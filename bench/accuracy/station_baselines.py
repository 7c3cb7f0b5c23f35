"""Statistical and deep-learning baselines on the station windows, side by side.

    python -m bench.accuracy.station_baselines [--windows all|seoul|melbourne] [--methods SeasonalNaive,...]
        [--timeout 600]
    python -m bench.accuracy.station_baselines --report   # rewrite docs/station_baselines.md from the JSON

Each (window, method) runs in its own process under a time limit, so a method that does not
finish is recorded with the time it had used instead of stalling the rest; results go to
bench/results/station_baselines.json (one entry per window and method, merged across runs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np

from bench.accuracy.station_windows import ROOT, Window, impute, score, take_subset, windows
from paxcast.training.backtest.peers import peer_forecast

RESULTS = ROOT / "bench" / "results" / "station_baselines.json"
DOC = ROOT / "docs" / "station_baselines.md"
METHODS = ("SeasonalNaive", "AutoETS", "AutoTheta", "MSTL", "NF-LSTM", "NF-NHITS")
LEVELS = [80, 95]
# What we would give our own model: 4 weeks of days, 2 weeks of hours.
INPUT_SIZE = {"D": 28, "h": 336}


def long_frame(window: Window, last: int | None = None):
    """Imputed histories (the `last` values of each, or all) as NeuralForecast's long (unique_id, ds, y) frame."""
    import pandas as pd

    freq = {"D": "D", "h": "h"}[window.freq]
    frames = []
    for uid, start, history in zip(window.ids, window.starts, window.histories, strict=True):
        ds = pd.date_range(pd.Timestamp(start), periods=len(history), freq=freq)
        frame = pd.DataFrame({"unique_id": uid, "ds": ds, "y": impute(history, window.season)})
        frames.append(frame.iloc[-last:] if last else frame)
    return pd.concat(frames, ignore_index=True)


def run_method(window: Window, method: str) -> dict:
    """Fit and forecast one method on one window; mean (n, h), intervals and the fit seconds.

    The statsforecast methods run as `paxcast backtest` runs its peers (`paxcast.training.backtest.peers`:
    the same seasons, the same hourly history cap)."""
    if not method.startswith("NF-"):
        out = peer_forecast(method, window.ids, window.histories, window.freq, window.season, window.horizon, LEVELS)
        return {"mean": out["mean"], "intervals": out["intervals"], "fit_s": out["seconds"]}
    import logging

    from neuralforecast import NeuralForecast
    from neuralforecast.models import LSTM, NHITS

    df = long_frame(window)
    started = time.perf_counter()
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    cls = {"NF-LSTM": LSTM, "NF-NHITS": NHITS}[method]
    # Documented defaults except h and input_size; progress bar off (output only).
    model = cls(
        h=window.horizon,
        input_size=INPUT_SIZE[window.freq],
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
    )
    nf = NeuralForecast(models=[model], freq={"D": "D", "h": "h"}[window.freq])
    nf.fit(df)
    out = nf.predict()
    seconds = time.perf_counter() - started
    out = out.reset_index() if "unique_id" not in out.columns else out
    out = out.set_index("unique_id").loc[window.ids]
    mean = out[cls.__name__].to_numpy(dtype=np.float64).reshape(len(window.ids), window.horizon)
    return {"mean": mean, "intervals": {}, "fit_s": seconds}


def _child(window_name: str, which: str, method: str, max_series: int | None, subset: int | None, queue) -> None:
    os.setpgrp()  # its own process group: a timeout then also ends statsforecast's worker pool
    (window,) = [w for w in windows(which, max_series) if w.name == window_name]
    window = take_subset(window, subset) if subset else window
    result = run_method(window, method)
    queue.put({"scores": score(window, result["mean"], result["intervals"]), "fit_s": result["fit_s"]})


def load_average() -> float:
    return os.getloadavg()[0]


def machine() -> str:
    lines = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("Model name")), "unknown CPU")
    return f"{model}, {os.cpu_count()} CPUs"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy.station_baselines")
    parser.add_argument("--windows", default="all", choices=["all", "seoul", "melbourne"])
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--only", default=None, help="one window by name, e.g. seoul_a_2019-12")
    parser.add_argument("--max-series", type=int, default=None, help="first N series only (smoke tests)")
    parser.add_argument(
        "--subset", type=int, default=None, help="a random N series (seed 0); the window is named <name>_subsetN"
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args(argv)
    if args.report:
        from bench.accuracy.station_report import write_report

        write_report(json.loads(args.results.read_text()), DOC)
        print(f"tables written into {DOC}")
        return
    results = json.loads(args.results.read_text()) if args.results.exists() else {"runs": {}}
    results["machine"] = machine()
    ctx = mp.get_context("spawn")
    for window in windows(args.windows, args.max_series):
        if args.only and window.name != args.only:
            continue
        name = window.name
        window = take_subset(window, args.subset) if args.subset else window
        entry = results["runs"].setdefault(
            window.name,
            {
                "series": len(window.ids),
                "dropped": window.dropped,
                "horizon": window.horizon,
                "origin": str(window.origin),
                "methods": {},
            },
        )
        for method in args.methods.split(","):
            queue, load_before, started = ctx.Queue(), load_average(), time.perf_counter()
            child = ctx.Process(target=_child, args=(name, args.windows, method, args.max_series, args.subset, queue))
            child.start()
            try:
                outcome = queue.get(timeout=args.timeout)
                status = "ok"
            except Exception:  # queue.Empty on timeout, or the child died
                outcome, status = {}, "did not finish" if child.is_alive() else f"failed (exit {child.exitcode})"
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGTERM)
            child.join()
            wall = time.perf_counter() - started
            outcome.update(status=status, wall_s=wall, load_before=load_before, load_after=load_average())
            entry["methods"][method] = outcome
            print(
                f"{window.name:28s} {method:14s} {status:16s} fit "
                f"{outcome.get('fit_s', float('nan')):7.1f}s {json.dumps(outcome.get('scores', {}))}",
                flush=True,
            )
            args.results.parent.mkdir(parents=True, exist_ok=True)
            args.results.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
