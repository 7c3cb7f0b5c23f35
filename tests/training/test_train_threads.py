"""bench/train_threads.py reads what `paxcast train` prints: a change to that line must not break the bench."""

import json

import pytest

from bench.train_threads import main


@pytest.mark.slow
def test_the_threads_bench_reads_every_run_and_writes_its_table(tmp_path):
    report = main(["--steps", "5", "--threads", "1", "--out", str(tmp_path)])
    (row,) = report["rows"]
    runs = [row["alone"], *row["beside_a_twin"]]
    assert row["threads"] == 1 and len(runs) == 3
    assert all(run["seconds"] > 0 and run["best_step"] in (0, 5) and run["mase"] > 0 for run in runs)
    assert len({(run["mase"], run["best_step"]) for run in runs}) == 1  # threads aside, the same member
    assert json.loads((tmp_path / "train_threads.json").read_text())["steps"] == 5
    assert "| torch threads |" in (tmp_path / "train_threads.md").read_text()
