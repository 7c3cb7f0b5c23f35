"""How much a general model's training corpus grows beyond seasonal naive, by the trend of the window before it.

    python -m experiments.general_drift.run [--data data/tourism/monthly/train.csv.gz]

Every training window `paxcast train` may draw without padding (history `--window`, target `--horizon`, all
before the validation horizon it holds out): the median over windows of the median of target / seasonal
naive (the history's last season repeated), for all windows and split by the history's own trend (mean of
its last season over the mean of its first: falling < 0.95, flat 0.95-1.05, rising > 1.05). A corpus in which
the three agree teaches the network to add its growth to every series, whatever the series shows
(docs/accuracy.md, "General models"). Also the median year-on-year growth of the series' yearly totals.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from bench.accuracy.general_unseen import ROOT
from paxcast.training.data import read_series
from paxcast.training.network.pipeline import GLOBAL_DEFAULTS


def ratios(y: np.ndarray, window: int, horizon: int, season: int) -> tuple[np.ndarray, np.ndarray]:
    """Per window of `y`: median target / seasonal naive, and the history's trend (last / first season)."""
    out, trend = [], []
    for t in range(len(y) - window - horizon + 1):
        history, target = y[t : t + window], y[t + window : t + window + horizon]
        naive = np.resize(history[-season:], horizon)
        if (naive <= 0).any() or history[:season].mean() <= 0:
            continue
        out.append(np.median(target / naive))
        trend.append(history[-season:].mean() / history[:season].mean())
    return np.array(out), np.array(trend)


def check() -> None:
    """A series growing 10 % a year: its ratio and trend by hand (`python -m bench.imports` runs it)."""
    ratio, trend = ratios(100 * 1.1 ** (np.arange(120) / 12), window=72, horizon=24, season=12)
    assert len(ratio) == 120 - 96 + 1, len(ratio)
    assert np.allclose(ratio, (1.1 + 1.21) / 2), ratio  # a year ahead x1.1, two years x1.21: the median of 24
    assert np.allclose(trend, 1.1**5), trend


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.general_drift.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--data", default=str(ROOT / "data/tourism/monthly/train.csv.gz"))
    args = parser.parse_args(argv)
    series = read_series(args.data)
    window, horizon, season = GLOBAL_DEFAULTS[series[0].freq]
    pairs = [ratios(s.y[: len(s.y) - horizon], window, horizon, season) for s in series]
    ratio, trend = (np.concatenate([p[k] for p in pairs]) for k in (0, 1))
    print(f"{args.data}: {len(ratio)} windows, median target / seasonal naive {np.median(ratio):.3f}")
    splits = {"falling": trend < 0.95, "flat": (trend >= 0.95) & (trend <= 1.05), "rising": trend > 1.05}
    for name, mask in splits.items():
        print(f"  history {name}: {mask.sum()} windows, median {np.median(ratio[mask]):.3f}")
    growth = defaultdict(list)
    for s in series:
        years = len(s.y) // season
        totals = s.y[: years * season].reshape(years, season).sum(axis=1)
        for k in range(1, years):
            growth[k].append(totals[k] / totals[k - 1] if totals[k - 1] > 0 else np.nan)
    medians = [np.nanmedian(v) for v in growth.values() if len(v) >= len(series) // 2]
    print(
        f"  yearly totals, median growth by year of each series (years most series have): "
        f"{min(medians):.3f} to {max(medians):.3f}, {sum(m > 1 for m in medians)} of {len(medians)} above 1"
    )


if __name__ == "__main__":
    main()
