"""A multi-series backtest's scores: per origin and pooled, a terminal table and the JSON document.

A method that ran on a random subset of series (`--peer-series`) is labelled "<method> (random N)";
every method that ran on all series is then scored on that subset too, under the same suffix, so
rows with the same suffix compare.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paxcast.training.backtest.network import OURS, OriginRun, Plan
from paxcast.training.backtest.series_report import machine
from paxcast.training.metrics import score, series_mase


@dataclass
class Scores:
    labels: list[str]  # table order: every method on all series, then the subset rows
    per_origin: list[dict[str, dict]]  # label -> metrics (plus seconds and load where the method ran)
    summary: dict[str, dict]  # label -> metrics pooled over every origin's points and series
    mase: list[dict[str, np.ndarray]]  # label -> per-series MASE, in the order of `rows`
    rows: list[dict[str, np.ndarray | None]]  # label -> the cut's rows it was scored on (None: all)


def label_of(method: str, rows: np.ndarray | None) -> str:
    return method if rows is None else f"{method} (random {len(rows)})"


def entries(run: OriginRun) -> list[tuple[str, str, np.ndarray | None]]:
    """(label, method, rows): each method on the rows it ran on, and the all-series methods on each subset."""
    out = [(label_of(name, f.rows), name, f.rows) for name, f in run.forecasts.items()]
    subsets = {tuple(f.rows): f.rows for f in run.forecasts.values() if f.rows is not None}
    for rows in subsets.values():
        out += [(label_of(name, rows), name, rows) for name, f in run.forecasts.items() if f.rows is None]
    order = list(run.forecasts)
    return sorted(out, key=lambda e: (e[2] is not None, order.index(e[1])))


def pieces(run: OriginRun, method: str, rows: np.ndarray | None):
    """(actuals, mean, scales, intervals) of `method` on `rows` of the cut."""
    f = run.forecasts[method]
    actuals, scales = (run.cut.actuals, run.scales) if rows is None else (run.cut.actuals[rows], run.scales[rows])
    if f.rows is None and rows is not None:
        return actuals, f.mean[rows], scales, {lv: (lo[rows], hi[rows]) for lv, (lo, hi) in f.intervals.items()}
    return actuals, f.mean, scales, f.intervals


def scored(runs: list[OriginRun], levels: list[int]) -> Scores:
    """Every label's metrics at each origin and pooled over all of them."""
    labels, per_origin, mase, rows, parts = [], [], [], [], {}
    for run in runs:
        metrics, by_series, where = {}, {}, {}
        for label, method, subset in entries(run):
            actuals, mean, scales, intervals = pieces(run, method, subset)
            metrics[label] = score(actuals, mean, scales, intervals)
            f = run.forecasts[method]
            if subset is f.rows:  # where the method ran, not a re-scoring on a subset
                metrics[label] |= {"seconds": round(f.seconds, 2), "load": [round(x, 2) for x in f.load]}
            by_series[label], where[label] = series_mase(actuals, mean, scales), subset
            parts.setdefault(label, []).append((actuals, mean, scales, intervals, metrics[label].get("seconds")))
            if label not in labels:
                labels.append(label)
        per_origin.append(metrics), mase.append(by_series), rows.append(where)
    summary = {}
    for label in labels:
        stacked = parts[label]
        intervals = {
            lv: tuple(np.concatenate([p[3][lv][k] for p in stacked]) for k in (0, 1))
            for lv in levels
            if all(lv in p[3] for p in stacked)
        }
        summary[label] = score(
            np.concatenate([p[0] for p in stacked]),
            np.concatenate([p[1] for p in stacked]),
            np.concatenate([p[2] for p in stacked]),
            intervals,
        )
        seconds = [p[4] for p in stacked]
        summary[label]["seconds"] = round(sum(seconds), 2) if None not in seconds else None
        summary[label]["origins"] = len(stacked)
    return Scores(labels, per_origin, summary, mase, rows)


def splits(runs: list[OriginRun]) -> str:
    if len(runs) == 1 and runs[0].cut.ends is not None:
        return "the test file's split (each series' own history end)"
    return f"origins {', '.join(r.cut.label for r in runs)} (last history point)"


def number(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if abs(value) < 1e6 else f"{value:.2e}"


def table(plan: Plan, runs: list[OriginRun], scores: Scores) -> str:
    """Pooled metrics per method, then WAPE and mean MASE at each origin."""
    levels = plan.levels
    columns = [("WAPE%", "wape", 2), ("MAPE%", "mape", 2), ("sMAPE%", "smape", 2), ("MASE", "mase", 3)]
    columns += [("MASEmed", "mase_median", 3), ("MASEp90", "mase_p90", 3)]
    for level in levels:
        columns += [(f"cov{level}%", f"coverage{level}", 1), (f"w{level}%", f"width{level}", 1)]
    columns += [("fit s", "seconds", 1)]
    labels = [r.cut.label for r in runs]
    width = max(len(label) for label in scores.labels) + 2
    head = "".join(f"{t:>10}" for t, _, _ in columns)
    head += "".join(f"{'WAPE@' + lb[:10]:>17}" for lb in labels) + "".join(f"{'MASE@' + lb[:10]:>17}" for lb in labels)
    lines = [
        f"backtest on {plan.data}: {splits(runs)}, horizon {runs[0].cut.horizon}; machine: {machine()}",
        "method".ljust(width) + head,
    ]
    for label in scores.labels:
        row = scores.summary[label]
        cells = "".join(f"{number(row.get(key), digits):>10}" for _, key, digits in columns)
        for key, digits in (("wape", 2), ("mase", 3)):
            cells += "".join(f"{number(o.get(label, {}).get(key), digits):>17}" for o in scores.per_origin)
        lines.append(label.ljust(width) + cells)
    lines.append(
        "Pooled over origins: WAPE and coverage over every observed point, MASE over every (series, origin); "
        "w = interval width / |actual|, %; fit s = fit + forecast wall time, summed over origins."
    )
    steps = [line for label in scores.labels if (line := coverage_by_step(label, scores.summary[label], levels))]
    if steps:
        lines += ["Coverage by horizon step, lowest and highest (every step is in the JSON):", *steps]
    return "\n".join(lines)


def coverage_by_step(label: str, row: dict, levels: list[int]) -> str | None:
    """'  label  80%: 75.1 (step 2) to 91.5 (step 22); 95%: ...', or None for a method without bands: a band
    right on average can be wrong at every step."""
    parts = []
    for level in levels:
        by_step = [(v, k + 1) for k, v in enumerate(row.get(f"coverage{level}_by_step") or []) if v is not None]
        if by_step:
            (low, at_low), (high, at_high) = min(by_step), max(by_step)
            parts.append(f"{level}%: {low:.1f} (step {at_low}) to {high:.1f} (step {at_high})")
    return f"  {label}  " + "; ".join(parts) if parts else None


def plain(value):
    """JSON-safe: arrays to lists, NaN and inf to null."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_json(path, plan: Plan, runs: list[OriginRun], scores: Scores) -> None:
    """Settings, pooled and per-origin metrics, drops and imputations, training facts, per-series MASE."""
    document = {
        "data": str(plan.data),
        "kind": "global",
        "splits": f"{splits(runs)}, horizon {runs[0].cut.horizon}",
        "levels": plan.levels,
        "machine": machine(),
        "settings": {
            "horizon": plan.config.horizon,
            "origins": [r.cut.label for r in runs],
            "peers": plan.peers,
            "peer_series": plan.peer_series,
            "peer_history": plan.peer_history,
            "hyperparameters": plan.config.model_dump(),
            "covariates": plan.calendar.spec(plan.holiday_file).model_dump(mode="json"),
        },
        "summary": scores.summary,
        "origins": [
            {
                "origin": run.cut.label,
                "scored": len(run.cut.ids),
                "dropped": run.cut.dropped,
                "imputed": run.imputed,
                "training": run.training,
                "methods": scores.per_origin[k],
                "ids": run.cut.ids,
                "mase_by_series": {
                    label: {
                        "rows": None if scores.rows[k][label] is None else scores.rows[k][label],
                        "mase": np.round(values, 5),
                    }
                    for label, values in scores.mase[k].items()
                },
            }
            for k, run in enumerate(runs)
        ],
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(plain(document), indent=1, allow_nan=False) + "\n", encoding="utf-8")


__all__ = ["OURS", "Scores", "scored", "table", "write_json"]
