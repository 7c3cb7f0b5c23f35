"""`paxcast backtest`: the LSTM and statistical baselines on the same honest splits.

Each split trains on the values before its origin only, through `designs.prepare`
and `pipeline.fit` — the code `paxcast train` runs, inner design choice and interval
calibration included — and forecasts the next `horizon` values with the exported
ONNX graph through onnxruntime, the way the service does.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from paxcast.service.core.exceptions import DataError, UsageError
from paxcast.training.backtest.baselines import BASELINES, baseline_forecast
from paxcast.training.backtest.general import load_general
from paxcast.training.backtest.series_report import plot, summarize, table, write_json
from paxcast.training.backtest.splits import Split, cut_at
from paxcast.training.data import Series, read_series
from paxcast.training.evaluate import single_series_latency
from paxcast.training.series.designs import prepare
from paxcast.training.series.model import Forecaster, count_parameters
from paxcast.training.series.pipeline import fit
from paxcast.training.series.selection import inner_summary
from paxcast.training.served import served_forecast, served_predictor

LSTM, NO_NETWORK = "LSTM (paxcast)", "LSTM's baseline (no network)"


def parse_levels(text: str) -> list[int]:
    """'80,95' -> [80, 95]; each an integer percent in (0, 100)."""
    levels = []
    for part in text.split(","):
        try:
            level = int(part.strip())
        except ValueError:
            raise UsageError(f"--level {text!r}: {part.strip()!r} is not an integer percent") from None
        if not 0 < level < 100:
            raise UsageError(f"--level {text!r}: {level} is outside (0, 100)")
        levels.append(level)
    return sorted(set(levels))


def make_splits(series: list[Series], holdout: int | None, origins: str | None, horizon: int | None) -> list[Split]:
    """The splits asked for by `--holdout N` or `--origins a,b,c` (+ `--horizon`), checked against the data."""
    if holdout is not None and origins is not None:
        raise UsageError("give either --holdout or --origins, not both")
    shortest = min(series, key=lambda s: len(s.y))
    if origins is None:
        holdout = 36 if holdout is None else holdout
        if holdout < 1:
            raise UsageError(f"--holdout must be at least 1, got {holdout}")
        if horizon is not None and horizon != holdout:
            raise UsageError(f"--horizon {horizon} differs from --holdout {holdout}; a hold-out forecasts all of it")
        if holdout >= len(shortest.y):
            raise DataError(
                f"--holdout {holdout} leaves nothing to train on: series '{shortest.id}' has {len(shortest.y)} values"
            )
        return [Split.holdout(holdout)]
    horizon = horizon or series[0].season
    if horizon < 1:
        raise UsageError(f"--horizon must be at least 1, got {horizon}")
    splits = []
    for part in origins.split(","):
        try:
            origin = int(part.strip())
        except ValueError:
            raise UsageError(f"--origins {origins!r}: {part.strip()!r} is not an integer") from None
        if origin < 1:
            raise UsageError(f"--origins {origins!r}: origin {origin} must be at least 1")
        if origin + horizon > len(shortest.y):
            raise DataError(
                f"--origins: origin {origin} + horizon {horizon} "
                f"runs past the end of series '{shortest.id}' ({len(shortest.y)} values)"
            )
        splits.append(Split(origin, horizon))
    if len(set(splits)) != len(splits):
        raise UsageError(f"--origins {origins!r}: an origin is repeated")
    return sorted(splits, key=lambda s: s.origin)


def prepare_split(data_path, series: list[Series], split: Split, overrides: dict):
    """The split's past and its checked config and designs, through `paxcast train`'s own `prepare`."""

    past = [replace(s, y=cut_at(s, split)[0]) for s in series]
    config, designs = prepare(
        f"{data_path} before origin {len(past[0].y)}", past, **{**overrides, "horizon": split.horizon}
    )
    return past, config, designs


def run_split(
    series: list[Series], split: Split, prepared, levels: list[int], show_progress: bool, general=None
) -> dict:
    """Train on the split's past through the pipeline, forecast with ONNX and the baselines (and, given
    `general` = (label, Predictor), a registered general model answering the same past zero-shot)."""
    import torch

    past, config, designs = prepared
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="paxcast-backtest-") as tmp:
        fitted = fit(past, config, Path(tmp), show_progress=show_progress, designs=designs)
        window = fitted.config.window
        histories = np.stack([p.y[-window:] for p in past])
        predictor = served_predictor(fitted, Path(tmp) / "registry", "backtest")
        forecasts: dict[str, dict] = {LSTM: served_forecast(predictor, past, split.horizon, levels, LSTM)}
        latency = single_series_latency(fitted.onnx_path, histories[0])
    seconds = time.perf_counter() - started
    chosen = Forecaster(fitted.config).eval()
    with torch.no_grad():
        no_network = chosen.baseline_forecast(torch.tensor(histories, dtype=torch.float32)).numpy().astype(np.float64)
    forecasts[NO_NETWORK] = {"mean": no_network, "intervals": {}}
    if general is not None:
        label, predictor = general
        forecasts[label] = served_forecast(predictor, past, split.horizon, levels, "--general")
    for name in BASELINES:
        outs = [baseline_forecast(name, p.y, split.horizon, config.season, levels) for p in past]
        forecasts[name] = {
            "mean": np.stack([o["mean"] for o in outs]),
            "intervals": {
                lv: tuple(np.stack([o["intervals"][lv][i] for o in outs]) for i in (0, 1))
                for lv in levels
                if all(lv in o["intervals"] for o in outs)
            },
        }
    return {
        "split": split,
        "train": [p.y for p in past],
        "actual": np.stack([cut_at(s, split)[1] for s in series]),
        "forecasts": forecasts,
        "selection": fitted.selection.model_dump(),
        "hyperparameters": fitted.config.model_dump(),
        "seconds": seconds,
        "parameters": count_parameters(fitted.result.model),
        "latency": latency,
    }


def run_backtest(
    data_path,
    splits: list[Split],
    levels: list[int],
    overrides: dict,
    show_progress: bool | None = None,
    log=print,
    general=None,
) -> list[dict]:
    """Every split in order, with a progress line (or bar on a terminal) per origin."""

    series = read_series(data_path)
    prepared = [
        prepare_split(data_path, series, split, overrides) for split in splits
    ]  # every error before any training
    show_progress = sys.stdout.isatty() if show_progress is None else show_progress
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(splits), desc="backtest", unit="origin")
    runs = []
    for k, split in enumerate(splits):
        run = run_split(series, split, prepared[k], levels, show_progress, general)
        runs.append(run)
        chosen = run["selection"]["chosen"] or {}
        line = (
            f"origin {k + 1}/{len(splits)} (train on {len(run['train'][0])} values, forecast {split.horizon}): "
            f"window {chosen.get('window', '?')}, {inner_summary(chosen)}, "
            f"network {run['selection']['network'].split(':')[0]}, {run['seconds']:.1f}s"
        )
        if bar is not None:
            bar.update(1)
            bar.write(line)
        else:
            log(line)
    if bar is not None:
        bar.close()
    return runs


def backtest(
    data, splits: list[Split], levels: list[int], overrides: dict, json_path, plot_path, log=print, general=None
) -> None:
    """Run every split, log the side-by-side table, write the JSON and the PNG; `general`: a registered general
    model's directory, scored zero-shot beside the rest (`backtest.general`)."""

    series = read_series(data)
    if general is not None:
        shortest = min(len(cut_at(s, split)[0]) for s in series for split in splits)
        general = load_general(general, series[0].freq, splits[0].horizon, shortest)
    runs = run_backtest(data, splits, levels, overrides, log=log, general=general)
    summary = summarize(runs, levels, series[0].season)
    log(table(summary, runs, levels, data))
    write_json(json_path, summary, runs, levels, data)
    plot(plot_path, series, runs, levels)
