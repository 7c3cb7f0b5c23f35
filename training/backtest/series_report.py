"""Backtest results as metrics per method, a terminal table, a JSON file and a PNG plot."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import numpy as np

from paxcast.service.core.calendar import parse_timestamp, step
from paxcast.training import metrics


def split_metrics(run: dict, name: str, levels: list[int], season: int) -> dict:
    """Metrics of one method on one split; arrays are (series, horizon), MASE per series then averaged.
    A metric the data leaves undefined (MAPE or width with a zero actual, MASE of a flat history) is None."""
    actual, forecast = run["actual"], run["forecasts"][name]
    mean = forecast["mean"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "mape": metrics.mape(actual, mean),
            "wape": metrics.wape(np.asarray(actual, float), np.asarray(mean, float)),
            "smape": metrics.smape(actual, mean),
            "mase": float(
                np.mean([metrics.mase(a, f, t, season) for a, f, t in zip(actual, mean, run["train"], strict=True)])
            ),
            "rmse": metrics.rmse(actual, mean),
        }
        for level in levels:
            if level in forecast["intervals"]:
                lower, upper = forecast["intervals"][level]
                out[f"coverage{level}"] = metrics.coverage(actual, lower, upper)
                out[f"width{level}"] = metrics.mean_width(actual, lower, upper)
    return {k: v if np.isfinite(v) else None for k, v in out.items()}


def summarize(runs: list[dict], levels: list[int], season: int) -> dict:
    """{method: {metric: mean over splits, "splits": [per-split metrics]}}; splits have equal size, so
    the mean of per-split coverage is the pooled coverage. A metric undefined on any split is None."""
    summary = {}
    for name in runs[0]["forecasts"]:
        per_split = [split_metrics(run, name, levels, season) for run in runs]
        keys = [k for k in per_split[0] if all(k in p for p in per_split)]
        means = {
            k: None if any(p[k] is None for p in per_split) else float(np.mean([p[k] for p in per_split])) for k in keys
        }
        summary[name] = means | {"splits": per_split}
    return summary


def describe_splits(runs: list[dict]) -> str:
    first = runs[0]["split"]
    if first.origin < 0:
        return f"hold-out: the last {first.horizon} values"
    return f"rolling origins {','.join(str(r['split'].origin) for r in runs)}, horizon {first.horizon}"


def machine() -> str:
    """One line naming the CPU, the cores, the Python and the load average the numbers were measured under."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model}, nproc={os.cpu_count()}, Python {platform.python_version()}, load average {load}"


def best_of(summary: dict, key: str) -> str | None:
    """The method with the best value of `key`: lowest error, or coverage closest to its level."""
    have = {name: row[key] for name, row in summary.items() if row.get(key) is not None}
    if not have:
        return None
    if key.startswith("coverage"):
        level = float(key.removeprefix("coverage"))
        return min(have, key=lambda n: abs(have[n] - level))
    return min(have, key=have.get)


def table(summary: dict, runs: list[dict], levels: list[int], data) -> str:
    """The side-by-side table: one row per method, `*` marks the best value of each column."""
    columns = [("MAPE%", "mape"), ("WAPE%", "wape"), ("sMAPE%", "smape"), ("MASE", "mase"), ("RMSE", "rmse")]
    columns += [(f"cov{lv}%", f"coverage{lv}") for lv in levels] + [(f"width{lv}%", f"width{lv}") for lv in levels]
    best = {key: best_of(summary, key) for _, key in columns if not key.startswith("width")}
    if len(runs) > 1:
        columns += [(f"MAPE@{r['split'].origin}", None) for r in runs]
    name_width = max(len(n) for n in summary) + 2
    lines = [
        f"backtest on {data}: {describe_splits(runs)} ({len(runs)} split{'s' * (len(runs) > 1)}); machine: {machine()}"
    ]
    lines.append("method".ljust(name_width) + "".join(f"{title:>11}" for title, _ in columns))
    for name, row in summary.items():
        cells = []
        for k, (_, key) in enumerate(columns):
            if key is None:
                value, mark = row["splits"][k - (len(columns) - len(runs))]["mape"], ""
            else:
                value, mark = row.get(key), "*" if best.get(key) == name else " "
            cells.append(f"{'-':>10} " if value is None else f"{value:>10.2f}{mark}")
        lines.append(name.ljust(name_width) + "".join(cells))
    lines.append(
        "* best in column (coverage: closest to its level). "
        "Errors are means over splits; coverage/width over all forecast points."
    )
    return "\n".join(lines)


def write_json(path, summary: dict, runs: list[dict], levels: list[int], data) -> None:
    """Metrics, per-split forecasts and the LSTM's inner design choice, as JSON."""

    def plain(x):
        return np.asarray(x).tolist()

    document = {
        "data": str(data),
        "splits": describe_splits(runs),
        "levels": levels,
        "machine": machine(),
        "summary": summary,
        "runs": [
            {
                "origin": r["split"].origin,
                "horizon": r["split"].horizon,
                "actual": plain(r["actual"]),
                "seconds": round(r["seconds"], 2),
                "selection": r["selection"],
                "hyperparameters": r["hyperparameters"],
                "forecasts": {
                    name: {
                        "mean": plain(f["mean"]),
                        "intervals": {
                            str(lv): {"lower": plain(lo), "upper": plain(hi)} for lv, (lo, hi) in f["intervals"].items()
                        },
                    }
                    for name, f in r["forecasts"].items()
                },
            }
            for r in runs
        ],
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def plot(path, series, runs: list[dict], levels: list[int], lstm: str = "LSTM (paxcast)") -> None:
    """History, actuals, every method's forecast and the LSTM's intervals; the first series only."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    y = series[0].y
    start = parse_timestamp(series[0].start)
    dates = np.array([step(start, series[0].freq, k) for k in range(len(y))])
    fig, ax = plt.subplots(figsize=(11, 5))
    ax.plot(dates, y, color="black", linewidth=1.2, label="actual")
    colors = dict(zip(runs[0]["forecasts"], plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    shades = dict(zip(sorted(levels, reverse=True), (0.15, 0.3, 0.45), strict=False))
    for k, run in enumerate(runs):
        origin = len(run["train"][0])
        steps = dates[origin : origin + run["split"].horizon]
        for level, (lower, upper) in run["forecasts"][lstm]["intervals"].items():
            ax.fill_between(
                steps,
                lower[0],
                upper[0],
                color=colors[lstm],
                alpha=shades.get(level, 0.2),
                linewidth=0,
                label=f"{lstm} {level}% interval" if k == 0 else None,
            )
        for name, forecast in run["forecasts"].items():
            width = 2.0 if name == lstm else 1.0
            ax.plot(steps, forecast["mean"][0], color=colors[name], linewidth=width, label=name if k == 0 else None)
        ax.axvline(dates[origin], color="grey", linestyle=":", linewidth=0.8)
    ax.set_title(f"series '{series[0].id}': {describe_splits(runs)}")
    ax.set_ylabel("y")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
