"""Hostile input files: each is one line naming the file, the line and the limit, an exit code, bounded
memory, and nothing left behind (issue 30)."""

from __future__ import annotations

import contextlib
import gzip
import os
import tracemalloc

import pytest

from paxcast.service.cli.main import main
from paxcast.service.core.exceptions import DataError
from paxcast.service.core.history import append_history, read_history, reconcile_history
from paxcast.training import data
from paxcast.training.data import read_series


def peak_mb(call) -> float:
    """Peak traced allocation (MB) of `call()`; numpy's arrays are traced too."""
    tracemalloc.start()
    with contextlib.suppress(DataError):
        call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def refusal(path) -> str:
    with pytest.raises(DataError) as info:
        read_series(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


def test_a_grid_spanning_millennia_is_refused_before_it_is_allocated(tmp_path):
    path = tmp_path / "far.csv"
    path.write_text("ds,y\n2020-01-01T00:00,1\n2020-01-01T01:00,2\n9999-12-31T23:00,3\n")
    message = refusal(path)
    assert message.endswith(
        f"line 4: series 'series' would span 69,951,240 hourly grid points from 2020-01-01T00:00 to "
        f"9999-12-31T23:00; a file spans at most {data.MAX_GRID_POINTS:,} in all"
    ), message
    assert peak_mb(lambda: read_series(path)) < 50


def test_the_grid_limit_counts_every_series_of_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MAX_GRID_POINTS", 5)
    rows = "".join(f"{sid},2020-01-0{d},1\n" for sid in "ab" for d in (1, 2, 3))
    path = tmp_path / "two.csv"
    path.write_text("unique_id,ds,y\n" + rows)
    assert "series 'b'" in refusal(path) and "at most 5 in all" in refusal(path)


def test_a_field_of_megabytes_is_refused_naming_its_line(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("ds,y\n2020-01-01,1\n2020-01-02," + "9" * 4_000_000 + "\n")
    message = refusal(path)
    assert message.endswith(f"line 3: a field is longer than {data.MAX_FIELD_CHARS} characters, the most it may hold")
    assert peak_mb(lambda: read_series(path)) < 100


def test_a_gzip_bomb_stops_at_the_decompressed_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MAX_TEXT_BYTES", 1 << 20)
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"ds,y\n" + b"2020-01-01,1\n" * 200_000))  # 2.6 MB inside
    assert refusal(path).endswith(f"decompresses to more than {1 << 20:,} bytes, the most a file may hold")
    assert peak_mb(lambda: read_series(path)) < 8


@pytest.mark.parametrize("year", ["0000", "-001"])
def test_a_year_before_one_is_not_a_date(tmp_path, year):
    path = tmp_path / "old.csv"
    path.write_text(f"ds,y\n{year}-01-01,1\n{year}-01-02,2\n")
    assert f"line 2: ds '{year}-01-01' is not an ISO date" in refusal(path)


def test_an_id_with_a_newline_or_an_escape_stays_on_one_line(tmp_path, capsys):
    path = tmp_path / "ids.csv"
    path.write_text('unique_id,ds,y\n"a\nFAKE: promoted\x1b[2J",2020-01-01,1\n')
    assert main(["train", "--data", str(path), "--out", str(tmp_path / "reg"), "--name", "x"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err
    assert "'a\\nFAKE: promoted\\x1b[2J'" in err


def test_a_file_name_that_is_not_utf8_is_one_line_and_leaves_nothing(tmp_path, capsys):
    name = os.fsdecode(b"stations-\xff.csv")
    (tmp_path / name).write_text("ds,y\n2020-01-01,1\n")
    registry = tmp_path / "reg"
    assert main(["train", "--data", str(tmp_path / name), "--out", str(registry), "--name", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "stations-\\udcff.csv" in err and "UTF-8" in err
    assert not registry.exists()


def test_a_holiday_file_that_is_not_utf8_is_one_line(tmp_path, capsys, stations_csv):
    holidays = tmp_path / "holidays.csv"
    holidays.write_bytes(b"ds\n2020-01-01\n\xff\xfe\n")
    code = main(["train", "--data", str(stations_csv), "--holidays", str(holidays), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"{holidays}: line 3: not UTF-8 text" in err


def test_a_history_line_of_5000_digits_is_skipped_not_a_crash(tmp_path):
    base = tmp_path / "m"
    base.mkdir()
    append_history(tmp_path, "m", {"event": "retrain", "decision": "kept"})
    with open(base / "history.jsonl", "a") as handle:
        handle.write('{"n": ' + "9" * 5000 + "}\n")
    append_history(tmp_path, "m", {"event": "rollback", "decision": "rolled back"})
    assert [r["event"] for r in read_history(tmp_path, "m")] == ["retrain", "rollback"]
    assert reconcile_history(tmp_path, "m") == []


def test_a_series_dated_in_year_one_is_refused_naming_it_not_with_a_bare_date_error(tmp_path, capsys):
    # R's `tsp` gives undated series the start year 1 (data/general_corpus/README.txt): a padded general model
    # reads its calendar from before the first value, before year 1. Was "paxcast train: year -3 is out of range".
    rows = ["unique_id,ds,y"]
    for uid, first in (("undated", 1), ("dated", 2001)):
        rows += [f"{uid},{first + i // 12:04d}-{i % 12 + 1:02d}-01,{100 + i % 12}" for i in range(120)]
    path = tmp_path / "early.csv"
    path.write_text("\n".join(rows) + "\n")
    assert main(["train", "--data", str(path), "--out", str(tmp_path / "reg"), "--steps", "2", "--hidden", "4"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "series 'undated' starts 0001-01-01" in err and "passes year 1" in err
    assert not (tmp_path / "reg" / "early").exists()
