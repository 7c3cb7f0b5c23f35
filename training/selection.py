"""Inner rolling-origin validation: choose a design, guard it against its baseline, calibrate intervals.

Everything here looks only at the data `fit` was given. Each inner origin cuts the
last k seasons off every series, trains on what is left, and forecasts from every
point of the cut-off part; those out-of-sample errors rank the candidate designs,
show whether the network beats its own no-network baseline, and become the
split-conformal scores the service turns into prediction intervals.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from paxcast.service.contract import Candidate, TrainConfig
from paxcast.training.data import Series
from paxcast.training.train import masked_windows, train

MIN_SCORES = 20  # fewest residuals a horizon step's interval is calibrated from (neighbours are pooled)
MAX_CUT = 0.25  # an inner origin cuts at most this share of the data: inner fits must resemble the final one


@dataclass
class InnerResult:
    """Out-of-sample errors of one design over the inner origins.

    `mape` / `baseline_mape`: percent, the mean APE over every inner out-of-sample
    forecast point; `relative_errors[h]`: |actual - forecast| / |forecast| at step h (network),
    `baseline_relative_errors[h]` the same for the no-network baseline.
    """

    config: TrainConfig
    mape: float
    baseline_mape: float
    relative_errors: list[list[float]] = field(default_factory=list)
    baseline_relative_errors: list[list[float]] = field(default_factory=list)
    origins: list[int] = field(default_factory=list)

    @property
    def beats_baseline(self) -> bool:
        return self.mape < self.baseline_mape


def inner_backs(series: list[Series], config: TrainConfig, count: int = 3) -> list[int]:
    """How many values each inner origin cuts off the end: 1..count seasons.

    A cut leaves at least two seasons of forecast origins and removes at most MAX_CUT
    of the data (at least one season): a network fitted on much less data than the
    final one is a different, worse model; judging designs or calibrating intervals
    by it misleads.
    """
    shortest = min(len(s.y) for s in series)
    backs = []
    for k in range(1, count + 1):
        back = k * config.season
        if shortest - back - config.window >= 2 * config.season and back <= max(config.season, MAX_CUT * shortest):
            backs.append(back)
    return backs


def _pooled_mape(errors: list[list[float]]) -> float:
    points = [e for step in errors for e in step]
    return float(np.mean(points) * 100) if points else float("nan")


def inner_validate(series: list[Series], config: TrainConfig, backs: list[int] | None = None) -> InnerResult | None:
    """Train `config` at each inner origin (`backs` values before the end; default inner_backs)
    and collect its out-of-sample errors; None if there is no inner origin."""
    backs = inner_backs(series, config) if backs is None else backs
    if not backs:
        return None
    h = config.horizon
    ape, base_ape = [[] for _ in range(h)], [[] for _ in range(h)]
    rel, base_rel = [[] for _ in range(h)], [[] for _ in range(h)]
    for back in backs:
        cut = [replace(s, y=s.y[: len(s.y) - back]) for s in series]
        model = train(cut, config, show_progress=False).model
        for s in series:
            n = len(s.y)
            x, target = masked_windows(s.y, config.window, h, range(n - back, n), n - back, n)
            xt = torch.tensor(x, dtype=torch.float32)
            with torch.no_grad():
                forecast = model(xt).numpy().astype(np.float64)
                baseline = model.members[0].baseline_forecast(xt).numpy().astype(np.float64)
            observed = ~np.isnan(target)
            for step in range(h):
                rows = observed[:, step]
                a, f, b = target[rows, step], forecast[rows, step], baseline[rows, step]
                ape[step] += (np.abs(f - a) / np.abs(a)).tolist()
                base_ape[step] += (np.abs(b - a) / np.abs(a)).tolist()
                rel[step] += (np.abs(f - a) / np.maximum(np.abs(f), 1e-9)).tolist()
                base_rel[step] += (np.abs(b - a) / np.maximum(np.abs(b), 1e-9)).tolist()
    shortest = min(len(s.y) for s in series)
    return InnerResult(
        config=config,
        mape=_pooled_mape(ape),
        baseline_mape=_pooled_mape(base_ape),
        relative_errors=rel,
        baseline_relative_errors=base_rel,
        origins=[shortest - b for b in backs],
    )


def pooled_scores(errors: list[list[float]], minimum: int = MIN_SCORES) -> list[list[float]]:
    """Per-step conformal scores; a step with fewer than `minimum` pools its nearest steps.

    Long steps have few inner forecasts that reach them, so their neighbours lend theirs.
    Steps that no inner forecast reaches take the furthest reached step's pool scaled by
    sqrt(step / that step): errors of a forecast grow with its lead time.
    """
    h = len(errors)
    reached = max((j for j in range(h) if errors[j]), default=-1)
    if reached < 0:
        return [[] for _ in range(h)]
    out = []
    for step in range(reached + 1):
        radius, pool = 0, list(errors[step])
        while len(pool) < minimum and radius < h:
            radius += 1
            pool = [e for j in range(max(0, step - radius), min(h, step + radius + 1)) for e in errors[j]]
        out.append([round(float(e), 6) for e in pool])
    for step in range(reached + 1, h):
        factor = np.sqrt((step + 1) / (reached + 1))
        out.append([round(float(e) * factor, 6) for e in out[reached]])
    return out


def choose(results: list[InnerResult]) -> InnerResult:
    """The design with the lowest inner MAPE (the first listed wins a tie)."""
    return min(results, key=lambda r: np.nan_to_num(r.mape, nan=np.inf))


def describe(result: InnerResult) -> Candidate:
    """What the card records about one candidate design."""
    c = result.config
    return Candidate(
        window=c.window,
        hidden=c.hidden,
        dropout=c.dropout,
        transform=c.transform,
        augment=c.augment,
        weight_decay=c.weight_decay,
        mape=round(result.mape, 4),
        baseline_mape=round(result.baseline_mape, 4),
    )
