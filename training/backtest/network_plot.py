"""The PNG of a multi-series backtest: a few series per origin, and the spread of per-series MASE.

One row per origin: three series (the largest, the median and the smallest by mean actual) with
their history tail, actuals, our forecast and its band, and SeasonalNaive; then the empirical
distribution of per-series MASE for ours against the peer with the lowest mean MASE on the same series.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paxcast.service.core.calendar import step
from paxcast.service.core.covariates import timestamps
from paxcast.training.backtest.network import OURS, OriginRun, Plan
from paxcast.training.backtest.network_report import Scores, label_of

SHOWN = 3  # series panels per origin


def shown_rows(run: OriginRun) -> list[int]:
    """The largest, the median and the smallest scored series by mean observed actual."""
    level = np.nanmean(run.cut.actuals, axis=1)
    order = list(np.argsort(level)[::-1])
    picks = [order[0], order[len(order) // 2], order[-1]]
    return list(dict.fromkeys(int(k) for k in picks))[:SHOWN]


def best_peer(scores: Scores, k: int) -> tuple[str, str] | None:
    """(peer label, ours on the same series) with the lowest mean MASE at origin k."""
    candidates = []
    for label, rows in scores.rows[k].items():
        if label.startswith(OURS):
            continue
        ours = label_of(OURS, rows)
        mase = scores.per_origin[k][label].get("mase")
        if ours in scores.per_origin[k] and mase is not None:
            candidates.append((mase, label, ours))
    return min(candidates)[1:] if candidates else None


def series_panel(ax, plan: Plan, run: OriginRun, row: int) -> None:
    c, window = run.cut, plan.config.window
    band = 80 if 80 in plan.levels else (plan.levels[0] if plan.levels else None)
    tail, end = c.histories[row][-window:], c.end(row)
    history_ds = timestamps(step(end, c.freq, 1 - len(tail)), c.freq, len(tail))
    future = timestamps(end, c.freq, c.horizon + 1)[1:]
    ax.plot(history_ds, tail, color="grey", linewidth=1.0, label="history")
    ax.plot(future, c.actuals[row], color="black", linewidth=1.2, label="actual")
    ours = run.forecasts[OURS]
    ax.plot(future, ours.mean[row], color="tab:blue", linewidth=1.6, label=OURS)
    if band is not None:
        lower, upper = ours.intervals[band]
        ax.fill_between(future, lower[row], upper[row], color="tab:blue", alpha=0.2, linewidth=0, label=f"{band}% band")
    naive = run.forecasts.get("SeasonalNaive")
    if naive is not None:
        ax.plot(future, naive.mean[row], color="tab:orange", linewidth=1.0, linestyle="--", label="SeasonalNaive")
    ax.axvline(end, color="grey", linestyle=":", linewidth=0.8)
    ax.set_title(f"{c.ids[row]} from {c.label}", fontsize=9)
    ax.tick_params(labelsize=7)
    for text in ax.get_xticklabels():
        text.set_rotation(30)


def mase_panel(ax, run: OriginRun, scores: Scores, k: int) -> None:
    pair = best_peer(scores, k)
    labels = [OURS] if pair is None else [pair[1], pair[0]]
    for label, color in zip(labels, ("tab:blue", "tab:green"), strict=False):
        values = np.sort(scores.mase[k][label][np.isfinite(scores.mase[k][label])])
        if not len(values):
            continue
        ax.step(values, np.arange(1, len(values) + 1) / len(values), where="post", color=color, label=label)
        ax.axvline(np.median(values), color=color, linestyle=":", linewidth=0.8)
    ax.set_xlabel("per-series MASE", fontsize=8)
    ax.set_ylabel("share of series", fontsize=8)
    ax.set_title(f"per-series MASE from {run.cut.label} (dotted: medians)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="lower right")


def plot(path, plan: Plan, runs: list[OriginRun], scores: Scores) -> None:
    """Write the PNG to `path` (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(runs), SHOWN + 1, figsize=(4.2 * (SHOWN + 1), 3.4 * len(runs)), squeeze=False)
    for k, run in enumerate(runs):
        rows = shown_rows(run)
        for j in range(SHOWN):
            if j < len(rows):
                series_panel(axes[k][j], plan, run, rows[j])
            else:
                axes[k][j].axis("off")
        mase_panel(axes[k][SHOWN], run, scores, k)
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"{plan.data.name}: backtest, horizon {runs[0].cut.horizon}", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
