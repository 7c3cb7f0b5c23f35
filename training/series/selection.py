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

from paxcast.service.core.contract import Candidate
from paxcast.service.core.hyperparameters import TrainConfig
from paxcast.service.core.intervals import window_scale
from paxcast.training import metrics
from paxcast.training.data import Series
from paxcast.training.series.train import masked_windows, train

MIN_SCORES = 20  # fewest residuals a horizon step's interval is calibrated from (neighbours are pooled)
MAX_CUT = 0.25  # an inner origin cuts at most this share of the data: inner fits must resemble the final one


@dataclass
class InnerResult:
    """Out-of-sample errors of one design over the inner origins.

    `mape` / `baseline_mape`: percent, the mean APE over every inner out-of-sample
    forecast point, NaN when one of those actuals is zero; `wape` / `baseline_wape`: pooled
    |error| / pooled |actual|, percent, defined with zeros. `relative_errors[h]`:
    |actual - forecast| / the scale `interval_scale` names, at step h (network),
    `baseline_relative_errors[h]` the same for the no-network baseline.
    """

    config: TrainConfig
    mape: float
    baseline_mape: float
    wape: float = float("nan")
    baseline_wape: float = float("nan")
    positive: bool = True  # every inner actual > 0
    relative_errors: list[list[float]] = field(default_factory=list)
    baseline_relative_errors: list[list[float]] = field(default_factory=list)
    origins: list[int] = field(default_factory=list)

    @property
    def metric(self) -> str:
        """What ranks designs and guards the network: MAPE, the per-series model's headline, when every inner
        actual is positive; WAPE otherwise, since a zero leaves MAPE undefined and values near or across
        zero dominate it (a series crossing zero scored an inner MAPE of 109 %)."""
        return "mape" if self.positive and np.isfinite(self.mape) and np.isfinite(self.baseline_mape) else "wape"

    @property
    def score(self) -> float:
        return self.mape if self.metric == "mape" else self.wape

    @property
    def beats_baseline(self) -> bool:
        baseline = self.baseline_mape if self.metric == "mape" else self.baseline_wape
        return self.score < baseline


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


def interval_scale(series: list[Series]) -> str:
    """What inner errors, and so the card's bands, are relative to: the forecast when every training value
    is positive; otherwise each window's seasonal-naive spread (`intervals.window_scale("mase")`), since a
    forecast near or across zero made bands of zero width, or 200 times the actual."""
    return "forecast" if all((s.y[~np.isnan(s.y)] > 0).all() for s in series) else "mase"


def _pooled(actuals: list[list[float]], forecasts: list[list[float]]) -> tuple[float, float]:
    """(MAPE, WAPE), percent, over every point of every step; MAPE is NaN where an actual is zero."""
    a = np.array([v for step in actuals for v in step])
    f = np.array([v for step in forecasts for v in step])
    if not a.size:
        return float("nan"), float("nan")
    return metrics.mape(a, f), metrics.wape(a, f)


def inner_validate(
    series: list[Series], config: TrainConfig, backs: list[int] | None = None, log=None
) -> InnerResult | None:
    """Train `config` at each inner origin (`backs` values before the end; default inner_backs)
    and collect its out-of-sample errors; None if there is no inner origin. `log(line)` hears of each origin."""
    backs = inner_backs(series, config) if backs is None else backs
    if not backs:
        return None
    h = config.horizon
    actuals, forecasts, baselines = ([[] for _ in range(h)] for _ in range(3))
    rel, base_rel = [[] for _ in range(h)], [[] for _ in range(h)]
    relative_to_forecast = interval_scale(series) == "forecast"
    for k, back in enumerate(backs):
        if log is not None:
            log(f"  inner origin {k + 1}/{len(backs)}: training on all but the last {back} values")
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
            spread = None if relative_to_forecast else window_scale(x, "mase", config.season, config.eps)[:, 0]
            for step in range(h):
                rows = observed[:, step]
                a, f, b = target[rows, step], forecast[rows, step], baseline[rows, step]
                actuals[step] += a.tolist()
                forecasts[step] += f.tolist()
                baselines[step] += b.tolist()
                if relative_to_forecast:
                    rel[step] += (np.abs(f - a) / np.maximum(np.abs(f), 1e-9)).tolist()
                    base_rel[step] += (np.abs(b - a) / np.maximum(np.abs(b), 1e-9)).tolist()
                else:
                    rel[step] += (np.abs(f - a) / spread[rows]).tolist()
                    base_rel[step] += (np.abs(b - a) / spread[rows]).tolist()
    shortest = min(len(s.y) for s in series)
    (mape, wape_), (baseline_mape, baseline_wape) = _pooled(actuals, forecasts), _pooled(actuals, baselines)
    return InnerResult(
        config=config,
        mape=mape,
        baseline_mape=baseline_mape,
        wape=wape_,
        baseline_wape=baseline_wape,
        positive=all(a > 0 for step in actuals for a in step),
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


def choose_metric(results: list[InnerResult]) -> str:
    """All designs rank by MAPE, or all by WAPE when any design's inner actuals call for it (designs with
    other windows have other inner origins)."""
    return "mape" if all(r.metric == "mape" for r in results) else "wape"


def choose(results: list[InnerResult]) -> InnerResult:
    """The design with the lowest inner score by `choose_metric` (the first listed wins a tie)."""
    metric = choose_metric(results)
    return min(results, key=lambda r: np.nan_to_num(getattr(r, metric), nan=np.inf))


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
        # None where WAPE ranked: a MAPE that is undefined, or dominated by values near or across zero
        mape=_rounded(result.mape) if result.metric == "mape" else None,
        baseline_mape=_rounded(result.baseline_mape) if result.metric == "mape" else None,
        wape=_rounded(result.wape),
        baseline_wape=_rounded(result.baseline_wape),
    )


def inner_summary(chosen: dict) -> str:
    """'inner MAPE 4.10% vs its no-network baseline 5.20%' (WAPE where WAPE ranked: `describe` leaves
    MAPE out there) for a `describe`d candidate, dumped to a dict."""
    key = "mape" if chosen.get("mape") is not None and chosen.get("baseline_mape") is not None else "wape"
    value, baseline = chosen.get(key), chosen.get(f"baseline_{key}")
    if value is None or baseline is None:
        return "no inner score"
    return f"inner {key.upper()} {value:.2f}% vs its no-network baseline {baseline:.2f}%"


def _rounded(value: float) -> float | None:
    return round(value, 4) if np.isfinite(value) else None
