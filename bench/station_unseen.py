"""Stations the model never saw: train on 80 % of a network's stations, forecast the other 20 %.

    python -m bench.station_unseen [--data seoul] [--origin 2019-11-30] [--steps N]

Two global models on the data up to `--origin`: one trained on every station, one on a random 80 %
(numpy seed 0). Both forecast the held-out 20 % for the next horizon through onnxruntime (the
service's Predictor, with `start`); the table gives their pooled WAPE on those stations beside
seasonal naive. If the model needed to have seen a station, the 80 % model would fall behind.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from bench.common import table
from paxcast.service.calendar import parse_timestamp, step
from paxcast.service.predictor import Predictor
from paxcast.service.schemas import ForecastRequest
from paxcast.training.backtest_report import machine
from paxcast.training.data import Series, read_series
from paxcast.training.global_pipeline import fit_global, make_calendar, resolve_global_config
from paxcast.training.global_train import wape
from paxcast.training.registry import register

ROOT = Path(__file__).resolve().parents[1]
DATA = {
    "seoul": (ROOT / "data/seoul_subway_daily/seoul_subway_daily.csv.gz", 28, {"country": "KR"}),
    "melbourne": (
        ROOT / "data/melbourne_pedestrian_hourly/melbourne_pedestrian_hourly.csv.gz",
        168,
        {"country": "AU", "subdiv": "VIC"},
    ),
}


def cut(series: list[Series], origin: str, horizon: int) -> tuple[list[Series], np.ndarray]:
    """Each series up to `origin` (inclusive) and its next `horizon` actuals (NaN where missing)."""
    at = parse_timestamp(origin)
    pasts, actuals = [], []
    for s in series:
        start = parse_timestamp(s.start)
        n = 0
        while n < len(s.y) and step(start, s.freq, n) <= at:
            n += 1
        future = np.full(horizon, np.nan)
        tail = s.y[n : n + horizon]
        future[: len(tail)] = tail
        pasts.append(dataclasses.replace(s, y=s.y[:n]))
        actuals.append(future)
    return pasts, np.stack(actuals)


def train_and_forecast(train_on: list[Series], targets: list[Series], horizon: int, flags: dict, steps: int | None):
    calendar = make_calendar(train_on[0].freq, flags.get("country"), flags.get("subdiv"), None)
    config = resolve_global_config(train_on, len(calendar.names), horizon=horizon, steps=steps)
    with tempfile.TemporaryDirectory() as tmp:
        fitted = fit_global(train_on, config, calendar, Path(tmp), show_progress=False)
        card_for = lambda version, sha: fitted.card("unseen", version, sha, "bench", "0" * 64)  # noqa: E731
        version = register(Path(tmp) / "reg", "unseen", fitted.onnx_path, card_for)
        predictor = Predictor.load(Path(tmp) / "reg" / "unseen" / version)
        W = config.window
        body = {
            "series": [
                {
                    "id": s.id,
                    "history": s.y[-W:].tolist(),
                    "start": step(parse_timestamp(s.start), s.freq, len(s.y) - W).isoformat(),
                }
                for s in targets
            ],
            "horizon": horizon,
        }
        return predictor.forecast(ForecastRequest.model_validate(body)).mean.astype(np.float64), fitted


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.station_unseen")
    parser.add_argument("--data", choices=sorted(DATA), default="seoul")
    parser.add_argument("--origin", default="2019-11-30")
    parser.add_argument("--steps", type=int)
    args = parser.parse_args(argv)
    path, horizon, flags = DATA[args.data]
    pasts, actuals = cut(read_series(path), args.origin, horizon)
    window = resolve_global_config(pasts, 0, horizon=horizon).window
    usable = [k for k, s in enumerate(pasts) if len(s.y) >= window and np.isfinite(s.y[-window:]).all()]
    rng = np.random.default_rng(0)
    held = set(rng.choice(usable, size=len(usable) // 5, replace=False).tolist())
    seen = [pasts[k] for k in range(len(pasts)) if k not in held]
    targets = [pasts[k] for k in sorted(held)]
    truth = actuals[sorted(held)]
    season = 7 if pasts[0].freq == "D" else 168
    naive = np.stack([np.resize(s.y[-season:], horizon) for s in targets])
    rows = [["seasonal naive", "-", f"{wape(naive, truth):.2f}"]]
    for label, train_on in (("global, every station", pasts), ("global, 80 % (held-out 20 % unseen)", seen)):
        forecast, fitted = train_and_forecast(train_on, targets, horizon, flags, args.steps)
        rows.append([label, f"{len(train_on)}", f"{wape(forecast, truth):.2f}"])
        print(f"{label}: {fitted.summary()}", flush=True)
    print(f"machine: {machine()}")
    print(f"{args.data}, origin {args.origin}, horizon {horizon}: WAPE on the {len(targets)} held-out stations")
    print(table(["model", "stations trained on", "WAPE %"], rows))


if __name__ == "__main__":
    main()
