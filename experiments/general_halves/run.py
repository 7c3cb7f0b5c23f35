"""Design choice without the checkpoint's luck: pick each member's checkpoint on half the validation windows,
score it on the other half.

    python -m experiments.general_halves.run --data data/tourism/quarterly/train.csv.gz --seeds 0,1,2 [--scaling mase]
        [--augment 0.1] [--trend none|drift] [--lr 3e-4] [--hidden 128] [--window 96] [--layers 2]
        [--dropout 0.2] [--weight-decay 0.01] [--out DIR]

A global model keeps the checkpoint with the best validation score out of ~30 checks, so that score is
partly selection: a noisy network's minimum looks better than it is. Here `paxcast train`'s own pipeline
trains one member per seed (`--ensemble 1`), but the validation windows it picks on are the even ones; the
odd ones score the member it kept, and the mean of all the members (the ensemble of those seeds). Each
member is also registered under DIR/<seed>/, so `python -m bench.accuracy.general_unseen --registry DIR/<seed>
--data ...` scores the same networks on other series. Writes DIR/general_halves.json.

The runs with `--synthetic`, `--ema`, `--lead-input` or `--local-forecasts` (experiments/general_halves/README.md) used
training options since removed; they ran from `git show cb7ea76:bench/general_halves.py`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from bench.common import ROOT
from paxcast.service.core.contract import ONNX_FILE, ModelCard, read_card
from paxcast.service.core.registry import current_version
from paxcast.training.backtest.series_report import machine
from paxcast.training.metrics import mean_mase
from paxcast.training.network import train as global_train
from paxcast.training.network import windows as global_windows


def member_graph(member: Path) -> tuple[Path, ModelCard]:
    """The graph a run registered under DIR/<seed>/ (its one model's CURRENT version) and its card."""
    (name,) = [entry.name for entry in member.iterdir() if entry.is_dir()]
    version = member / name / current_version(member, name)
    return version / ONNX_FILE, read_card(version)


def odd_windows(data: Path, card: ModelCard) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The windows a member with `card` was scored on: history, calendar and target of the odd validation
    windows of `data`, the calendar rebuilt from the card as the service rebuilds it."""
    from paxcast.service.core.covariates import Calendar
    from paxcast.training.data import read_series

    config, series = card.hyperparameters, read_series(data)
    line = global_windows.timeline(
        series, Calendar.of(card.freq, card.covariates), config.horizon, config.window - config.shortest
    )
    v = global_windows.validation_windows(series, line, config)
    odd = np.arange(len(v.history)) % 2 == 1
    return v.history[odd], v.calendar[odd], v.target[odd]


class OddWindows:
    """Stands in for `global_train.validation_windows`: hands training the even windows, keeps the odd ones."""

    def __init__(self):
        self.whole = global_train.validation_windows
        self.held: global_windows.ValidationWindows | None = None

    def __call__(self, series, line, config) -> global_windows.ValidationWindows:
        v = self.whole(series, line, config)
        even, odd = (np.arange(len(v.history)) % 2 == k for k in (0, 1))
        self.held = replace(v, history=v.history[odd], calendar=v.calendar[odd], target=v.target[odd])
        return replace(v, history=v.history[even], calendar=v.calendar[even], target=v.target[even])


def run_member_bench(
    argv: list[str] | None,
    prog: str,
    description: str,
    modes: dict[str, Callable[[argparse.Namespace], object]],
    options: Callable[[argparse.ArgumentParser, argparse.ArgumentParser], None],
) -> None:
    """The two modes of a bench over members this module trained: `odd` scores them on the odd tourism windows
    (`--data`, `--members`), `unseen` runs `bench.accuracy.general_unseen` with the arguments after `--`.
    `options(odd_parser, unseen_parser)` adds the bench's own options; `modes` maps each mode to its function."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    sub = parser.add_subparsers(dest="mode", required=True)
    odd, unseen = sub.add_parser("odd"), sub.add_parser("unseen")
    odd.add_argument("--data", type=Path, required=True)
    odd.add_argument("--members", type=Path, nargs="+", required=True)
    options(odd, unseen)
    unseen.add_argument("rest", nargs=argparse.REMAINDER, help="bench.accuracy.general_unseen's arguments, after --")
    args = parser.parse_args(argv)
    args.rest = [a for a in getattr(args, "rest", []) if a != "--"]
    modes[args.mode](args)


def main(argv: list[str] | None = None) -> dict:
    from paxcast.training.pipeline import train_and_register

    parser = argparse.ArgumentParser(
        prog="python -m experiments.general_halves.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data", type=Path, default=ROOT / "data/tourism/quarterly/train.csv.gz")
    parser.add_argument("--seeds", default="0,1,2", help="one member per seed (default: 0,1,2)")
    parser.add_argument("--scaling", choices=["level", "mase"], help="default: the frequency's")
    parser.add_argument("--augment", type=float, help="default: the frequency's")
    parser.add_argument("--trend", choices=["none", "drift"], help="default: the frequency's")
    parser.add_argument("--lr", type=float, help="Adam learning rate (default: the config's)")
    parser.add_argument("--hidden", type=int, help="hidden units (default: the config's)")
    parser.add_argument("--window", type=int, help="history window (default: the frequency's)")
    parser.add_argument("--layers", type=int, help="stacked LSTM layers (default: the config's)")
    parser.add_argument("--dropout", type=float, help="dropout on the encoder's summary (default: off)")
    parser.add_argument("--weight-decay", type=float, help="AdamW weight decay (default: off)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/general_halves")
    args = parser.parse_args(argv)
    chosen = {
        "scaling": args.scaling,
        "augment": args.augment,
        "trend": args.trend,
        "lr": args.lr,
        "hidden": args.hidden,
        "window": args.window,
        "layers": args.layers,
        "dropout": args.dropout,
        "weight_decay": args.weight_decay,
    }
    overrides = {k: v for k, v in chosen.items() if v is not None}
    odd = OddWindows()
    global_train.validation_windows = odd
    members, forecasts = [], []
    try:
        for seed in (int(s) for s in args.seeds.split(",")):
            name = "general_" + ("monthly" if "monthly" in str(args.data) else "quarterly")
            _, fitted = train_and_register(
                args.data, args.out / str(seed), name, show_progress=False, ensemble=1, seed=seed, **overrides
            )
            held = odd.held
            with torch.no_grad():
                f = fitted.result.model(torch.from_numpy(held.history), torch.from_numpy(held.calendar)).numpy()
            forecasts.append(f)
            season = fitted.config.season
            members.append(
                {
                    "seed": seed,
                    "best_step": fitted.result.best_step,
                    "picked_on_even": round(fitted.result.val_mase, 4),
                    "scored_on_odd": round(mean_mase(held.target, f, held.history, season), 4),
                }
            )
            print(members[-1], flush=True)
    finally:
        global_train.validation_windows = odd.whole
    naive = held.history[:, held.history.shape[1] - season + np.arange(held.target.shape[1]) % season]
    report = {
        "data": str(args.data),
        "overrides": overrides,
        "members": members,
        "ensemble_on_odd": round(mean_mase(held.target, np.mean(forecasts, axis=0), held.history, season), 4),
        "seasonal_naive_on_odd": round(mean_mase(held.target, naive, held.history, season), 4),
        "machine": machine(),
    }
    print(json.dumps({k: report[k] for k in ("ensemble_on_odd", "seasonal_naive_on_odd")}))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "general_halves.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
