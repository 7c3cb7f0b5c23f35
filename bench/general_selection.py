"""Tried, not shipped: choosing, per window, between a general model and fixed local methods by their error on
the window's own last horizon (docs/accuracy.md, "Local forecasts").

    python -m bench.general_selection odd --data data/tourism/quarterly/train.csv.gz --members DIR/0 DIR/1 DIR/2
    python -m bench.general_selection unseen --rule blend:0.5 -- --registry DIR/0 --data FILE --peers SeasonalNaive

`odd` scores each rule on the odd tourism validation windows with the members `bench.general_halves` trained
(each member alone, and their mean forecast). `unseen` runs `bench.general_unseen` with the rule applied to every
forecast the registered graph makes. The candidates of a window holding n observed values: the graph's forecast;
the methods of `training.network.smoothing` fitted to those n values. Each is scored on the window's last
held = min(horizon, n - shortest) values, forecast from the values before them (the graph from the shorter
history, padded as the service pads it), in units of the window's seasonal-naive MAE. Rules:
- `net`: the graph alone (reproduces `general_halves` and `general_unseen`);
- `argmin`: the candidate with the lowest error; `inv2`: weights 1 / error^2;
- `switch:R`: the best local method if its error is under R, else the graph; `blend:R`: then the mean of the two.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable

import numpy as np

from bench.general_halves import member_graph, odd_windows, run_member_bench
from bench.general_unseen import main as unseen_main
from paxcast.training.network.smoothing import METHODS, held_out, local_weights

Run = Callable[[np.ndarray, np.ndarray], np.ndarray]


@functools.cache
def method_maps(n: int, held: int, horizon: int, season: int) -> tuple[np.ndarray, np.ndarray]:
    """The methods' forecasts of the last `held` of n values from the values before, and of the horizon."""
    return local_weights(n - held, held, season), local_weights(n, horizon, season)


def earlier(calendar: np.ndarray, steps: int, season: int) -> np.ndarray:
    """The calendar rows of the window `steps` earlier; the general models' covariates repeat every season."""
    index = np.arange(len(calendar)) - steps
    return calendar[np.where(index < 0, index + season * ((-index + season - 1) // season), index)]


def candidates(run: Run, history: np.ndarray, calendar: np.ndarray, shortest: int, season: int, full: bool = False):
    """The graph's forecasts (B, H), and per row (candidate forecasts (C, H), errors (C,)) or None when the row
    is too short to hold values out (or, `full`, padded at all); candidate 0 is the graph. The values held out
    are `smoothing.held_out`'s, as the graph's `local_forecasts` scores them; the graph forecasts them from the
    history before them, so that history must hold `shortest` values."""
    width = history.shape[1]
    graph = run(history, calendar)
    horizon = graph.shape[1]
    observed = [row[~np.isnan(row)].astype(np.float64) for row in history]  # validation windows have no gaps
    held = [min(held_out(len(y), horizon, season), len(y) - shortest) for y in observed]
    rows = [i for i, h in enumerate(held) if h >= 1 and not (full and len(observed[i]) < width)]
    shorter = np.full((len(rows), width), np.nan, np.float32)
    for j, i in enumerate(rows):
        kept = observed[i][: len(observed[i]) - held[i]]
        shorter[j, width - len(kept) :] = kept
    calendars = np.stack([earlier(calendar[i], held[i], season) for i in rows]) if rows else calendar[:0]
    backcast = dict(zip(rows, run(shorter, calendars) if rows else [], strict=True))
    out = []
    for i, y in enumerate(observed):
        n, h = len(y), held[i]
        if i not in backcast:
            out.append(None)
            continue
        behind, ahead = method_maps(n, h, horizon, season)
        truth = y[n - h :]
        errors = np.concatenate([[np.abs(backcast[i][:h] - truth).mean()], np.abs(behind @ y[: n - h] - truth).mean(1)])
        scale = max(np.abs(y[season:] - y[:-season]).mean(), 1e-9)
        out.append((np.vstack([graph[i][None], ahead @ y]), errors / scale))
    return graph, out


def rule(name: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    kind, _, bound = name.partition(":")
    if (kind in ("switch", "blend")) != bool(bound) or kind not in ("net", "argmin", "inv2", "switch", "blend"):
        raise SystemExit(f"rule {name!r}: one of net, argmin, inv2, switch:R, blend:R")
    r = float(bound or 0)

    def choose(forecasts: np.ndarray, errors: np.ndarray) -> np.ndarray:
        if kind == "net":
            return forecasts[0]
        if kind == "argmin":
            return forecasts[np.argmin(errors)]
        if kind == "inv2":
            w = 1 / np.maximum(errors, 1e-9) ** 2
            return (w[:, None] * forecasts).sum(0) / w.sum()
        best = 1 + np.argmin(errors[1:])
        if errors[best] >= r:
            return forecasts[0]
        return forecasts[best] if kind == "switch" else 0.5 * (forecasts[0] + forecasts[best])

    return choose


def apply(name: str, graph: np.ndarray, found: list) -> np.ndarray:
    choose, out = rule(name), graph.copy()
    for i, candidate in enumerate(found):
        if candidate is not None:
            out[i] = choose(*candidate)
    return out


def changed(graph: np.ndarray, out: np.ndarray) -> int:
    """Forecasts the rule did not leave to the graph."""
    return int((np.abs(out - graph).max(axis=1) > 0).sum())


# window -> (min_history, season) of the general models' defaults, monthly and quarterly: `unseen` sees the
# graph's session only, not its card
SHAPES = {72: (24, 12), 24: (8, 4)}
RULES = ["net", "argmin", "inv2", "switch:0.3", "switch:0.5", "switch:0.7", "blend:0.3", "blend:0.5"]


def odd(args: argparse.Namespace) -> dict:
    from paxcast.service.inference.predictor import make_session, run_session
    from paxcast.training.metrics import mean_mase

    runs, report = {}, {}
    for member in args.members:
        path, card = member_graph(member)
        runs[member.name] = functools.partial(
            lambda s, x, c: run_session(s, x.astype(np.float32), c), make_session(path)
        )
    history, calendar, target = odd_windows(args.data, card)
    shortest, season = card.hyperparameters.shortest, card.season
    members = list(runs.values())
    runs["mean"] = lambda x, c: np.mean([run(x, c) for run in members], axis=0)
    for label, run in runs.items():
        graph, found = candidates(run, history, calendar, shortest, season, args.full)
        report[label] = {}
        for r in RULES:
            out = apply(r, graph, found)
            report[label][r] = {
                "mase": round(float(mean_mase(target, out, history, season)), 4),
                "changed": changed(graph, out),
            }
        print(label, {r: v["mase"] for r, v in report[label].items()}, flush=True)
    picks = np.bincount([np.argmin(c[1]) for c in found if c is not None], minlength=len(METHODS) + 2)
    moved = {r: v["changed"] for r, v in report["mean"].items()}
    print(f"{len(history)} windows; forecasts the rules changed: {moved}")
    print(f"the lowest error picks (the graph, {len(METHODS)} Holt-Winters, the line): {picks.tolist()}")
    return report


def unseen(args: argparse.Namespace) -> None:
    from paxcast.service.inference.predictor import run_session

    counts = {"forecasts": 0, "changed": 0}

    def with_rule(session, x, calendar=None):
        if x.shape[1] not in SHAPES:
            raise SystemExit(f"a graph of window {x.shape[1]}: this bench knows the general models' {list(SHAPES)}")
        shortest, season = SHAPES[x.shape[1]]
        run = lambda h, c: run_session(session, h.astype(np.float32), c)  # noqa: E731
        graph, found = candidates(run, x, calendar, shortest, season, args.full)
        out = apply(args.rule, graph, found)
        counts["forecasts"] += len(x)
        counts["changed"] += changed(graph, out)
        return out.astype(np.float32)

    unseen_main(args.rest, call=with_rule)
    print(f"rule {args.rule}: changed {counts['changed']} of {counts['forecasts']} forecasts", file=sys.stderr)


def options(odd_parser: argparse.ArgumentParser, unseen_parser: argparse.ArgumentParser) -> None:
    unseen_parser.add_argument("--rule", default="net", help="net, argmin, inv2, switch:R or blend:R")
    for mode in (odd_parser, unseen_parser):
        mode.add_argument("--full", action="store_true", help="leave padded windows to the graph")


def main(argv: list[str] | None = None) -> None:
    modes = {"odd": odd, "unseen": unseen}
    run_member_bench(argv, "python -m bench.general_selection", __doc__.split("\n")[0], modes, options)


if __name__ == "__main__":
    main()
