"""Tried, not shipped: ensembles of general-model members that read different lengths of history
(docs/accuracy.md, "Members with different windows").

    python -m experiments.general_mix.run odd --data data/tourism/monthly/train.csv.gz --members DIR72/0 DIR120/0 ...
    python -m experiments.general_mix.run unseen --extra DIR72/1,DIR72/2 -- --registry DIR120/0 --data FILE \
        --peers SeasonalNaive

`odd` scores every member, and the mean forecast of every three of them, on the odd tourism validation windows
(those `experiments.general_halves.run` did not pick checkpoints on), all on the MASE scale of the window-72
(quarterly: 24) histories, so members with different windows compare; then the mean score of the mixes per set of
windows. `unseen` runs `bench.accuracy.general_unseen` with the extra members' forecasts averaged into the
registered one's; the registered member must read the longest window, each extra one reads the last values of it.
"""

from __future__ import annotations

import argparse
import itertools
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.accuracy.general_unseen import main as unseen_main
from experiments.general_halves.run import member_graph, odd_windows, run_member_bench
from paxcast.service.inference.predictor import make_session, run_session

# The shipped monthly and quarterly windows: every member is scored on the MASE scale of their histories.
REFERENCE_WINDOW = {"MS": 72, "QS": 24}


def odd(args: argparse.Namespace) -> None:
    from paxcast.training.metrics import mean_mase

    forecasts, reference = {}, None
    for member in args.members:
        path, card = member_graph(member)
        history, calendar, target = odd_windows(args.data, card)
        forecasts[member] = (card.window, run_session(make_session(path), history, calendar))
        if reference is not None and not np.array_equal(reference[1], target, equal_nan=True):
            raise SystemExit(f"{member} scores other windows than the members before it: compare like with like")
        if card.window == REFERENCE_WINDOW[card.freq] or reference is None:
            reference = (history, target, card.season)
    history, target, season = reference
    print(f"MASE on the scale of window-{history.shape[1]} histories")
    for member, (window, f) in forecasts.items():
        print(f"{member} (window {window}): {mean_mase(target, f, history, season):.4f}")
    by_windows = defaultdict(list)
    for trio in itertools.combinations(forecasts, 3):
        windows = tuple(sorted(forecasts[m][0] for m in trio))
        mean = np.mean([forecasts[m][1] for m in trio], axis=0)
        by_windows[windows].append(float(mean_mase(target, mean, history, season)))
    for windows, scores in sorted(by_windows.items(), key=lambda kv: np.mean(kv[1])):
        spread = f"{min(scores):.4f}-{max(scores):.4f}"
        print(f"windows {windows}: {len(scores)} mixes, mean {np.mean(scores):.4f} ({spread})")


def unseen(args: argparse.Namespace) -> None:
    extras = []
    for member in args.extra.split(","):
        path, card = member_graph(Path(member))
        extras.append((make_session(path), card.window))

    def averaged(session, x, calendar=None):
        width = x.shape[1]
        if any(window > width for _, window in extras):
            raise SystemExit(f"the registered member reads {width} values; an extra one reads more")
        outs = [run_session(session, x, calendar)]
        for extra, window in extras:
            cut = slice(width - window, None)
            outs.append(run_session(extra, np.ascontiguousarray(x[:, cut]), np.ascontiguousarray(calendar[:, cut])))
        return np.mean(outs, axis=0).astype(np.float32)

    unseen_main(args.rest, call=averaged)


def options(odd_parser: argparse.ArgumentParser, unseen_parser: argparse.ArgumentParser) -> None:
    unseen_parser.add_argument("--extra", required=True, help="comma-separated member directories averaged in")


def main(argv: list[str] | None = None) -> None:
    modes = {"odd": odd, "unseen": unseen}
    run_member_bench(argv, "python -m experiments.general_mix.run", __doc__.split("\n")[0], modes, options)


if __name__ == "__main__":
    main()
