"""How far a series swings around its level, tourism against the zero-shot series (docs/accuracy.md).

    python -m experiments.general_spans.run

Each series' last window (72 months, 24 quarters: the general models' windows) divided by its mean
|value|; printed: the tourism monthly corpus' median minimum and maximum with their 10th/90th
percentiles, then each series of data/unseen/ on its own.
"""

from __future__ import annotations

import numpy as np

from bench.accuracy.general_unseen import ROOT
from paxcast.training.data import read_series

WINDOW = {"MS": 72, "QS": 24}


def span(y: np.ndarray, freq: str) -> tuple[float, float]:
    window = y[-WINDOW[freq] :]
    scaled = window / np.abs(window).mean()
    return float(scaled.min()), float(scaled.max())


def main() -> None:
    corpus = [span(s.y, s.freq) for s in read_series(ROOT / "data/tourism/monthly/train.csv.gz")]
    lows, highs = np.array(corpus).T
    print(
        f"tourism monthly: median span {np.median(lows):.2f}-{np.median(highs):.2f} "
        f"(10th percentile of minima {np.percentile(lows, 10):.2f}, 90th of maxima {np.percentile(highs, 90):.2f})"
    )
    for name in ("monthly", "quarterly"):
        for s in read_series(ROOT / "data/unseen" / f"{name}.csv.gz"):
            low, high = span(s.y, s.freq)
            print(f"{s.id}: {low:.2f}-{high:.2f}")


if __name__ == "__main__":
    main()
