"""`paxcast backtest --cells lstm,gru,peephole`: the same backtest once per recurrent cell, side by side.

Each cell goes through the whole `paxcast train` path (inner design choice and guard
included) on the same splits; the table adds what the textbook comparison is about:
parameters, training time and single-series onnxruntime latency.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from paxcast.service.core.exceptions import UsageError
from paxcast.service.core.hyperparameters import CELLS
from paxcast.training.backtest.series import LSTM, run_backtest
from paxcast.training.backtest.series_report import describe_splits, machine, summarize
from paxcast.training.data import read_series

REFERENCE = "AutoARIMA"


def parse_cells(text: str) -> list[str]:
    cells = [part.strip() for part in text.split(",") if part.strip()]
    for cell in cells:
        if cell not in CELLS:
            raise UsageError(f"--cells {text!r}: {cell!r} is not one of {', '.join(CELLS)}")
    if not cells or len(set(cells)) != len(cells):
        raise UsageError(f"--cells {text!r}: give each cell once, e.g. lstm,gru,peephole")
    return cells


def cell_row(runs: list[dict], summary: dict) -> dict:
    """The network's metrics plus size, cost and how often the inner guard kept the network on."""
    lstm = summary[LSTM]
    row = {k: v for k, v in lstm.items() if k != "splits"}
    row.update(
        parameters=runs[0]["parameters"],
        ensemble=runs[0]["hyperparameters"]["ensemble"],
        train_seconds=float(sum(r["seconds"] for r in runs)),
        latency_p50_us=float(np.median([r["latency"]["p50_us"] for r in runs])),
        latency_p99_us=float(np.median([r["latency"]["p99_us"] for r in runs])),
        network_on=sum(r["selection"]["network"] == "on" for r in runs),
        splits=len(runs),
    )
    return row


def render(rows: dict, reference: dict, levels: list[int], header: str) -> str:
    cov = [f"cov{lv}%" for lv in levels]
    head = f"{'cell':<10}{'MAPE%':>8}{'sMAPE%':>8}{'MASE':>7}{'RMSE':>8}" + "".join(f"{c:>9}" for c in cov)
    head += f"{'params':>9}{'train s':>9}{'p50 µs':>8}{'p99 µs':>8}{'net on':>8}"
    lines = [header, head]
    # a metric the data leaves undefined (MAPE with a zero actual, MASE of a flat history) is None: "-"
    cell_of = lambda value, width, digits: f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"  # noqa: E731
    best = min(rows, key=lambda c: np.inf if rows[c]["mape"] is None else rows[c]["mape"])
    for cell, r in rows.items():
        line = (
            f"{cell + ('*' if cell == best else ''):<10}{cell_of(r['mape'], 8, 2)}"
            f"{cell_of(r['smape'], 8, 2)}{cell_of(r['mase'], 7, 2)}{cell_of(r['rmse'], 8, 2)}"
        )
        line += "".join(cell_of(r.get(f"coverage{lv}"), 9, 1) for lv in levels)
        line += (
            f"{r['parameters']:>9}{r['train_seconds']:>9.1f}"
            f"{r['latency_p50_us']:>8.0f}{r['latency_p99_us']:>8.0f}{str(r['network_on']) + '/' + str(r['splits']):>8}"
        )
        lines.append(line)
    ref = (
        f"{REFERENCE:<10}{cell_of(reference['mape'], 8, 2)}"
        f"{cell_of(reference['smape'], 8, 2)}{cell_of(reference['mase'], 7, 2)}{cell_of(reference['rmse'], 8, 2)}"
    )
    ref += "".join(cell_of(reference.get(f"coverage{lv}"), 9, 1) for lv in levels)
    lines.append(ref + f"{'-':>9}{'-':>9}{'-':>8}{'-':>8}{'-':>8}")
    lines.append(
        "* lowest MAPE. params: whole ensemble (all members); train s: the full `paxcast train` path over all splits "
        "(inner design choice, members, export); p50/p99: one series through onnxruntime, 1 thread; "
        "net on: splits where the inner guard kept the network (off = its no-network baseline is served)."
    )
    return "\n".join(lines)


def compare_cells(data, cells: list[str], splits, levels: list[int], overrides: dict, json_path, log=print) -> Path:
    """Run the backtest once per cell, log the side-by-side table, write it as JSON next to `json_path`; return it."""
    series = read_series(data)
    rows, reference = {}, None
    for cell in cells:
        runs = run_backtest(
            data, splits, levels, {**overrides, "cell": cell}, log=lambda line, c=cell: log(f"[{c}] {line}")
        )
        summary = summarize(runs, levels, series[0].season)
        rows[cell] = cell_row(runs, summary)
        reference = reference or {k: v for k, v in summary[REFERENCE].items() if k != "splits"}
    header = f"cells on {data}: {describe_splits(runs)}; machine: {machine()}"
    log(render(rows, reference, levels, header))
    out = Path(json_path).with_name(Path(json_path).stem + "-cells.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "data": str(data),
                "splits": describe_splits(runs),
                "machine": machine(),
                "cells": rows,
                REFERENCE: reference,
            },
            indent=2,
        )
        + "\n"
    )
    return out
