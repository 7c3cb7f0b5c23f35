"""Generalization check on real series shipped with statsmodels (installed by the bench extra).

Writes long-format CSVs, then for each series runs rolling origins at the last three seasons
(horizon one season) for a few designs and for AutoARIMA/AutoTheta, and prints MAPE.
Usage: python bench/accuracy/other_series.py '{"name": {...overrides}}' [--seeds 0]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from bench.common import ROOT
from paxcast.training.backtest.baselines import baseline_forecast
from paxcast.training.data import read_series
from paxcast.training.series.designs import resolve_config
from paxcast.training.series.train import train

OUT = ROOT / "bench" / "results" / "data"


def write_datasets() -> list[Path]:
    import pandas as pd
    import statsmodels.api as sm

    OUT.mkdir(parents=True, exist_ok=True)
    frames = {}
    from statsmodels.datasets import elec_equip

    elec = elec_equip.load_pandas().data
    frames["elec_equip"] = pd.DataFrame({"ds": elec.index.strftime("%Y-%m-01"), "y": elec.iloc[:, 0].values})
    co2 = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().interpolate().iloc[-180:]
    frames["co2_monthly"] = pd.DataFrame({"ds": co2.index.strftime("%Y-%m-%d"), "y": co2.values})
    nino = sm.datasets.elnino.load_pandas().data
    temps = nino.drop(columns="YEAR").to_numpy().ravel()[-180:]
    frames["elnino_monthly"] = pd.DataFrame(
        {"ds": pd.date_range("1996-01-01", periods=len(temps), freq="MS").strftime("%Y-%m-%d"), "y": temps}
    )
    macro = sm.datasets.macrodata.load_pandas().data
    quarters = pd.date_range("1959-01-01", periods=len(macro), freq="QS").strftime("%Y-%m-%d")
    for column in ("realgdp", "cpi", "realcons"):
        frames[f"macro_{column}"] = pd.DataFrame({"ds": quarters, "y": macro[column].values})
    paths = []
    for name, frame in frames.items():
        path = OUT / f"{name}.csv"
        frame.assign(unique_id=name)[["unique_id", "ds", "y"]].to_csv(path, index=False)
        paths.append(path)
    return paths


def evaluate(path: Path, designs: dict, seeds: list[int]) -> None:
    series = read_series(path)
    y, season = series[0].y, series[0].season
    origins = [len(y) - k * season for k in (3, 2, 1)]
    row = {}
    for name in ("AutoARIMA", "AutoTheta", "SeasonalNaive"):
        row[name] = np.mean(
            [
                np.mean(
                    np.abs(baseline_forecast(name, y[:o], season, season, [])["mean"] - y[o : o + season])
                    / np.abs(y[o : o + season])
                )
                * 100
                for o in origins
            ]
        )
    for design, overrides in designs.items():
        for seed in seeds:
            scores, base = [], []
            for o in origins:
                cut = [replace(s, y=s.y[:o]) for s in series]
                config = resolve_config(cut, **{**overrides, "horizon": season, "seed": seed})
                model = train(cut, config, show_progress=False).model
                x = torch.tensor(y[o - config.window : o], dtype=torch.float32)[None]
                with torch.no_grad():
                    f, b = model(x)[0].numpy(), model.members[0].baseline_forecast(x)[0].numpy()
                a = y[o : o + season]
                scores.append(np.mean(np.abs(f - a) / np.abs(a)) * 100)
                base.append(np.mean(np.abs(b - a) / np.abs(a)) * 100)
            row[f"{design}/{seed}"] = np.mean(scores)
            row[f"{design}/{seed} base"] = np.mean(base)
    print(path.stem, " ".join(f"{k}={v:.2f}" for k, v in row.items()), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("designs")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    for path in write_datasets():
        if not args.only or path.stem in args.only.split(","):
            evaluate(path, json.loads(args.designs), [int(s) for s in args.seeds.split(",")])
