"""Where a backtest or a retrain cuts the data: train on what comes before an origin, score what follows."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from paxcast.training.data import Series


@dataclass(frozen=True)
class Split:
    """Train on each series' first `origin` values (negative: counted from the end), forecast the next `horizon`."""

    origin: int
    horizon: int

    @classmethod
    def holdout(cls, horizon: int) -> Split:
        """The last `horizon` values of every series."""
        return cls(-horizon, horizon)


def cut_at(s: Series, split: Split) -> tuple[np.ndarray, np.ndarray]:
    """(train (origin,), actual (horizon,)) of one series."""
    origin = split.origin if split.origin > 0 else len(s.y) + split.origin
    return s.y[:origin], s.y[origin : origin + split.horizon]


def split_series(series: list[Series], split: Split) -> tuple[list[Series], np.ndarray]:
    """Every series cut at the split: (the pasts, the actuals (n_series, horizon))."""
    cuts = [cut_at(s, split) for s in series]
    return [replace(s, y=past) for s, (past, _) in zip(series, cuts, strict=True)], np.stack(
        [actual for _, actual in cuts]
    )
