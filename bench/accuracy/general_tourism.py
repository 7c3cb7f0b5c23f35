"""NeuralForecast's NHITS and LSTM on the tourism competition's official split: the deep-learning peers of
the general models (`paxcast backtest --test` runs ours and the statistical peers).

    python -m bench.accuracy.general_tourism [--folders monthly,quarterly] [--methods NF-NHITS,NF-LSTM] [--seeds 0,1,2]

Each model trains once on every series' training part (as ours does) and forecasts the official
horizon (24 months, 8 quarters) from each series' end. Documented defaults except `h`, `input_size`
(our window: 72 months, 24 quarters), `start_padding_enabled` (histories shorter than that, as ours
pads them) and `scaler_type="robust"`: the defaults do not scale the
windows, and tourism series run from tens to millions (unscaled, one loss is dominated by the largest
series). One run per seed (`random_seed`); with several seeds also the mean of their forecasts, the peer
of our three-member ensemble. Scores are those of `paxcast backtest` (`paxcast.training.metrics.score`):
MAPE, MASE with each series' in-sample seasonal-naive scale. Results: bench/results/general_tourism_nf.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time

import numpy as np

from bench.accuracy.station_baselines import machine
from bench.accuracy.station_windows import ROOT
from paxcast.training.backtest.cuts import split_cut
from paxcast.training.data import read_series
from paxcast.training.metrics import mase_scale, score

RESULTS = ROOT / "bench" / "results" / "general_tourism_nf.json"
SETTINGS = {"monthly": ("MS", 12, 72), "quarterly": ("QS", 4, 24)}  # freq, season, input_size


def forecast(
    method: str, ids: list[str], histories: list[np.ndarray], ends, freq: str, horizon: int, window: int, seed: int
):
    import pandas as pd
    from neuralforecast import NeuralForecast
    from neuralforecast.models import LSTM, NHITS

    frames = []
    for uid, history, end in zip(ids, histories, ends, strict=True):
        ds = pd.date_range(end=pd.Timestamp(end), periods=len(history), freq=freq)
        frames.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": history}))
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    cls = {"NF-NHITS": NHITS, "NF-LSTM": LSTM}[method]
    model = cls(
        h=horizon,
        input_size=window,
        scaler_type="robust",
        start_padding_enabled=True,  # quarterly series as short as 22 quarters; ours pads too
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        random_seed=seed,
    )
    nf = NeuralForecast(models=[model], freq=freq)
    nf.fit(pd.concat(frames, ignore_index=True))
    out = nf.predict()
    out = (out.reset_index() if "unique_id" not in out.columns else out).set_index("unique_id").loc[ids]
    return out[cls.__name__].to_numpy(dtype=np.float64).reshape(len(ids), horizon)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", default="monthly,quarterly")
    parser.add_argument("--methods", default="NF-NHITS,NF-LSTM")
    parser.add_argument("--seeds", default="0", help="one run per seed; several also score their mean forecast")
    args = parser.parse_args(argv)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for folder in args.folders.split(","):
        freq, season, window = SETTINGS[folder]
        train = read_series(ROOT / "data" / "tourism" / folder / "train.csv.gz")
        test = read_series(ROOT / "data" / "tourism" / folder / "test.csv.gz")
        c = split_cut(train, test, f"data/tourism/{folder}/test.csv.gz", shortest=2 * season, season=season)
        scales = np.array([mase_scale(h, season) for h in c.histories])
        ends = [c.end(k) for k in range(len(c.ids))]
        for method in args.methods.split(","):
            forecasts, seconds, first_load = [], 0.0, os.getloadavg()[0]
            for seed in [int(k) for k in args.seeds.split(",")]:
                load = os.getloadavg()[0]
                started = time.perf_counter()
                forecasts.append(forecast(method, c.ids, c.histories, ends, freq, c.horizon, window, seed))
                seconds += time.perf_counter() - started
                key = f"{folder}/{method}" + (f"/seed{seed}" if seed else "")
                results[key] = row(c.actuals, forecasts[-1], scales, time.perf_counter() - started, load)
                print(f"{key}: {results[key]}", flush=True)
            if len(forecasts) > 1:
                key = f"{folder}/{method}/mean of seeds {args.seeds}"
                results[key] = row(c.actuals, np.mean(forecasts, axis=0), scales, seconds, first_load)
                print(f"{key}: {results[key]}", flush=True)
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(results, indent=1) + "\n")


def row(actuals: np.ndarray, mean: np.ndarray, scales: np.ndarray, seconds: float, load: float) -> dict:
    metrics = score(actuals, mean, scales)
    return {
        "mape": round(metrics["mape"], 3),
        "mase": round(metrics["mase"], 4),
        "series": metrics["series"],
        "seconds": round(seconds, 1),
        "load": [round(load, 2), round(os.getloadavg()[0], 2)],
        "machine": machine(),
    }


if __name__ == "__main__":
    main()
