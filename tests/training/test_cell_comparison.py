import json
import time

import pytest

from paxcast.service.cli.main import main
from paxcast.service.core.exceptions import UsageError
from paxcast.training.backtest import series as backtest
from paxcast.training.backtest.cells import parse_cells

TINY = ["--window", "24", "--hidden", "4", "--epochs", "3", "--patience", "3", "--ensemble", "1"]


@pytest.mark.slow
def test_cells_backtest_prints_one_row_per_cell_with_size_cost_and_latency(tmp_path, air_csv, capsys, monkeypatch):
    fits, latencies = [], []  # what the backtest really spent on each cell's `paxcast train` path, and measured
    real_fit, real_latency = backtest.fit, backtest.single_series_latency

    def timed_fit(*args, **kwargs):
        started = time.perf_counter()
        fitted = real_fit(*args, **kwargs)
        fits.append(time.perf_counter() - started)
        return fitted

    monkeypatch.setattr(backtest, "fit", timed_fit)  # the name the backtest calls
    monkeypatch.setattr(
        backtest, "single_series_latency", lambda *a, **k: latencies.append(real_latency(*a, **k)) or latencies[-1]
    )
    report = tmp_path / "bt.json"
    started = time.perf_counter()
    code = main(
        [
            "backtest",
            "--data",
            str(air_csv),
            "--holdout",
            "6",
            "--cells",
            "lstm,gru,peephole",
            *TINY,
            "--json",
            str(report),
            "--plot",
            str(tmp_path / "bt.png"),
        ]
    )
    elapsed = time.perf_counter() - started
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(out) if line.startswith("cell "))
    rows = {line.split()[0].rstrip("*"): line.split() for line in out[header + 1 : header + 5]}
    assert list(rows) == ["lstm", "gru", "peephole", "AutoARIMA"]
    document = json.loads((tmp_path / "bt-cells.json").read_text())
    cells = document["cells"]
    # Per layer: LSTM 4·H·(F + H + 2), GRU 3·H·(F + H + 2), peephole 4·H·(F + H + 1) + 3·H, plus the same head.
    head = 4 * 6 + 6
    assert cells["lstm"]["parameters"] == 4 * 4 * (2 + 4 + 2) + head
    assert cells["gru"]["parameters"] == 3 * 4 * (2 + 4 + 2) + head
    assert cells["peephole"]["parameters"] == 4 * 4 * (2 + 4 + 1) + 3 * 4 + head
    assert len(fits) == len(latencies) == 3  # one split per cell
    for cell, fit_seconds, latency in zip(["lstm", "gru", "peephole"], fits, latencies, strict=True):
        row = cells[cell]
        assert row["splits"] == 1
        assert fit_seconds <= row["train_seconds"] <= elapsed  # seconds, covering the whole train path
        assert (row["latency_p50_us"], row["latency_p99_us"]) == (latency["p50_us"], latency["p99_us"])
        assert 5 < row["latency_p50_us"] <= row["latency_p99_us"] < 50_000  # microseconds: not s, ms or ns
    assert sum(cells[c]["train_seconds"] for c in cells) <= elapsed
    assert out[-1] == f"wrote {tmp_path / 'bt-cells.json'}"


@pytest.mark.parametrize("text", ["lstm,rnn", "lstm,lstm", ","])
def test_bad_cell_lists_are_refused(text):
    with pytest.raises(UsageError, match=f"^--cells '{text}': "):
        parse_cells(text)
