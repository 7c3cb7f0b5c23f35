"""How many torch threads a global model's local training should take: alone, and beside a twin.

    python -m bench.perf.train_threads [--data data/tourism/quarterly/train.csv.gz] [--steps 600] [--threads 1,2]

Runs `paxcast train --ensemble 1 --steps N --threads T` as a subprocess, once alone and then twice at the
same time (another training, a test suite or the service on the same host is the common case), for each T,
and reads each run's card: its training seconds (data loading and export left out), validation MASE and kept
step. Every run trains the same member, so each row's MASE and step must agree: threads change the speed,
not the model. The runs inherit the environment (e.g. OMP_WAIT_POLICY). Writes
bench/results/train_threads.{md,json}. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, served_card, table, write_report
from paxcast.training.backtest.series_report import machine

NAME = "threads"


def train_args(data: Path, steps: int, threads: int, out: Path) -> list[str]:
    """`paxcast train`'s arguments for one run: one member, `steps` steps, `threads` torch threads."""
    args = ["train", "--data", str(data), "--out", str(out), "--name", NAME, "--ensemble", "1"]
    return args + ["--steps", str(steps), "--threads", str(threads)]


def start(data: Path, steps: int, threads: int, out: Path) -> tuple[subprocess.Popen, Path]:
    argv = [sys.executable, "-m", "paxcast.service.cli.main", *train_args(data, steps, threads, out)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT), out


def finish(started: tuple[subprocess.Popen, Path]) -> dict:
    """What the registered card says of the run: its training seconds, validation MASE and kept step."""
    run, out = started
    output, _ = run.communicate(timeout=1800)
    if run.returncode:
        raise SystemExit(f"a training run failed (exit {run.returncode}):\n{output[-2000:]}")
    card = served_card(out, NAME)
    return {"mase": card.validation.mase, "best_step": card.training.best_step, "seconds": card.training.seconds}


def check() -> None:
    """`paxcast train` still takes the flags this bench passes (`python -m bench.imports` runs it, training
    nothing); what it reads back is the card, through `served_card`."""
    from paxcast.service.cli.main import build_parser

    parsed = build_parser().parse_args(train_args(Path("data.csv"), 5, 2, Path("out")))
    assert (parsed.name, parsed.ensemble, parsed.steps, parsed.threads) == (NAME, 1, 5, 2), parsed


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.perf.train_threads", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data/tourism/quarterly/train.csv.gz")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--threads", default="1,2", help="comma-separated torch thread counts")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results")
    args = parser.parse_args(argv)
    rows, load_before = [], os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        for threads in [int(t) for t in args.threads.split(",")]:
            alone = finish(start(args.data, args.steps, threads, Path(scratch) / f"alone{threads}"))
            pair = [start(args.data, args.steps, threads, Path(scratch) / f"pair{threads}{k}") for k in (0, 1)]
            twins = [finish(run) for run in pair]
            rows.append({"threads": threads, "alone": alone, "beside_a_twin": twins})
    report = {"data": str(args.data), "steps": args.steps, "machine": machine(), "load_before": load_before}
    report["rows"] = rows
    headers = ["torch threads", "alone, s", "beside a twin, s (each)", "validation MASE / best step (every run)"]
    lines = []
    for r in rows:
        runs = [r["alone"], *r["beside_a_twin"]]
        models = sorted({(x["mase"], x["best_step"]) for x in runs})
        lines.append(
            [r["threads"], f"{r['alone']['seconds']:.0f}", " / ".join(f"{x['seconds']:.0f}" for x in runs[1:])]
            + ["; ".join(f"{m:.3f} / {s}" for m, s in models)]
        )
    text = "\n".join(
        [
            f"# Local training by torch threads: {args.data.parent.name}/{args.data.name}, one member, "
            f"{args.steps} steps",
            "",
            table(headers, lines),
            "",
            f"Machine (at the end): {report['machine']}; load average at the start "
            + " ".join(f"{x:.2f}" for x in load_before),
            "",
        ]
    )
    write_report(args.out, "train_threads", text, report)
    return report


if __name__ == "__main__":
    main()
