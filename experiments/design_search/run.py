"""Design search harness: outer splits (36-month hold-out, rolling origins) and inner validation per design.

Usage: python -m experiments.design_search.run '{"name": {...TrainConfig overrides}}' [--seeds 0,100] [--inner]
Prints one line per design and seed group; for exploring only — `paxcast backtest` gives the reported numbers.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np
import torch

from paxcast.training.data import read_series
from paxcast.training.series.designs import resolve_config
from paxcast.training.series.selection import inner_validate
from paxcast.training.series.train import train

SPLITS = [(108, 36), (96, 12), (108, 12), (120, 12)]


def outer(series, overrides, seed, inner_flag):
    """MAPE of one design on every split (and its inner validation there with `inner_flag`)."""
    row = {}
    for origin, horizon in SPLITS:
        cut = [replace(s, y=s.y[:origin]) for s in series]
        config = resolve_config(cut, **{**overrides, "horizon": horizon, "seed": seed})
        model = train(cut, config, show_progress=False).model
        x = torch.tensor(series[0].y[origin - config.window : origin], dtype=torch.float32)[None]
        with torch.no_grad():
            f, b = model(x)[0].numpy(), model.members[0].baseline_forecast(x)[0].numpy()
        a = series[0].y[origin : origin + horizon]
        row[(origin, horizon)] = (float(np.mean(np.abs(f - a) / a) * 100), float(np.mean(np.abs(b - a) / a) * 100))
        if inner_flag:
            r = inner_validate(cut, config)
            row[("inner", origin, horizon)] = (r.mape, r.baseline_mape)
    return row


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("designs")
    parser.add_argument("--data", default="data/air_passengers.csv")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--inner", action="store_true")
    args = parser.parse_args()
    series = read_series(args.data)
    for name, overrides in json.loads(args.designs).items():
        for seed in map(int, args.seeds.split(",")):
            started = time.perf_counter()
            row = outer(series, overrides, seed, args.inner)
            hold, hold_b = row[(108, 36)]
            roll = np.mean([row[(o, 12)][0] for o in (96, 108, 120)])
            roll_b = np.mean([row[(o, 12)][1] for o in (96, 108, 120)])
            line = (
                f"{name:>14} seed {seed:>4}: holdout {hold:5.2f} (base {hold_b:5.2f})  "
                f"rolling {roll:5.2f} (base {roll_b:5.2f}) ["
                + " ".join(f"{row[(o, 12)][0]:.2f}" for o in (96, 108, 120))
                + "]"
            )
            if args.inner:
                ih = row[("inner", 108, 36)]
                ir = (
                    np.mean([row[("inner", o, 12)][0] for o in (96, 108, 120)]),
                    np.mean([row[("inner", o, 12)][1] for o in (96, 108, 120)]),
                )
                line += f"  inner: holdout {ih[0]:5.2f}/{ih[1]:5.2f} rolling {ir[0]:5.2f}/{ir[1]:5.2f}"
            print(line + f"  {time.perf_counter() - started:.0f}s", flush=True)
