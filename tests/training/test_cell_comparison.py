import json

import pytest

from paxcast.service.exceptions import UsageError
from paxcast.training.cells import parse_cells
from paxcast.training.cli import main

TINY = ["--window", "24", "--hidden", "4", "--epochs", "3", "--patience", "3", "--ensemble", "1"]


def test_cells_backtest_prints_one_row_per_cell_with_size_cost_and_latency(tmp_path, air_csv, capsys):
    report = tmp_path / "bt.json"
    code = main(["backtest", "--data", str(air_csv), "--holdout", "6", "--cells", "lstm,gru,peephole", *TINY, "--json", str(report), "--plot", str(tmp_path / "bt.png")])
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
    for cell in cells.values():
        assert cell["latency_p50_us"] > 0 and cell["train_seconds"] > 0 and cell["splits"] == 1
    assert out[-1] == f"wrote {tmp_path / 'bt-cells.json'}"


@pytest.mark.parametrize("text", ["lstm,rnn", "lstm,lstm", ","])
def test_bad_cell_lists_are_refused(text):
    with pytest.raises(UsageError, match=f"^--cells '{text}': "):
        parse_cells(text)
