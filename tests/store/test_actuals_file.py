"""ActualsFile: a unique_id,ds,y file streams through in batches, bounded whatever its size or packing."""

from __future__ import annotations

import gzip
import tracemalloc

import pytest
from sqlalchemy import func, select

from paxcast.service.cli.main import main
from paxcast.service.core import text_files
from paxcast.service.core.exceptions import DataError
from paxcast.service.store.actuals import write_actual_batches
from paxcast.service.store.actuals_file import ActualsFile
from paxcast.service.store.engine import open_store
from paxcast.service.store.schema import actuals
from tests.stores import stored_count


def count(url: str) -> int:
    return stored_count(url, actuals)


def test_reading_holds_a_batch_not_the_file(tmp_path):
    path = tmp_path / "many.csv"
    body = "".join(f"S{s},2000-01-{1 + h // 24 % 28:02d}T{h % 24:02d}:00,{h}\n" for s in range(50) for h in range(672))
    path.write_text("unique_id,ds,y\n" + body)  # 33,600 rows
    tracemalloc.start()
    rows = ActualsFile(path)
    seen = sum(len(batch) for batch in rows)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seen == rows.rows == 33_600
    # All rows held, with a dict of (id, ds) keys for the repeat check, peaked at 9.0 MB; a batch and
    # 16 bytes a row at 2.8.
    assert peak / 1e6 < 5


def test_a_gzip_bomb_of_valid_rows_stops_at_the_text_limit_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(text_files, "MAX_TEXT_BYTES", 1 << 20)
    body = "".join(f"S{s},2000-01-{1 + h // 24 % 28:02d}T{h % 24:02d}:00,1\n" for s in range(100) for h in range(672))
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(("unique_id,ds,y\n" + body).encode()))  # 2.4 MB of text inside
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    assert main(["actuals", "load", str(path), "--store", url]) == 3
    assert capsys.readouterr().err == (
        f"paxcast actuals: {path}: decompresses to more than {1 << 20:,} bytes, the most a file may hold\n"
    )
    assert count(url) == 0


def test_a_plain_file_over_the_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(text_files, "MAX_TEXT_BYTES", 1000)
    path = tmp_path / "big.csv"
    path.write_text("unique_id,ds,y\n" + "A,2020-01-01,1\n" * 100)
    with pytest.raises(DataError, match=f"^{path}: more than 1,000 bytes, the most a file may hold$"):
        list(ActualsFile(path))


def test_a_key_repeated_batches_later_names_both_lines_and_writes_nothing(tmp_path, store_url):
    path = tmp_path / "repeat.csv"
    path.write_text("unique_id,ds,y\nA,2020-09-01,1\nA,2020-09-02,2\nB,2020-09-01,3\nB,2020-09-02,4\nA,2020-09-01,5\n")
    store = open_store(store_url)
    try:
        with pytest.raises(DataError, match=r"line 6: series 'A' has ds 2020-09-01 twice \(first on line 2\)$"):
            write_actual_batches(store, ActualsFile(path, batch=2))
        with store.connect() as conn:
            assert conn.execute(select(func.count()).select_from(actuals)).scalar_one() == 0
    finally:
        store.dispose()


def test_a_bad_last_row_after_several_batches_writes_nothing(tmp_path, store_url):
    path = tmp_path / "late.csv"
    path.write_text("unique_id,ds,y\n" + "".join(f"A,2020-09-{d:02d},{d}\n" for d in range(1, 8)) + "A,2020-09-08,x\n")
    store = open_store(store_url)
    try:
        with pytest.raises(DataError, match="line 9: y 'x' is not a number$"):
            write_actual_batches(store, ActualsFile(path, batch=2))  # three batches were sent before it
        with store.connect() as conn:
            assert conn.execute(select(func.count()).select_from(actuals)).scalar_one() == 0
    finally:
        store.dispose()


def test_a_third_occurrence_names_the_earliest_repeat(tmp_path):
    path = tmp_path / "thrice.csv"
    path.write_text(
        "unique_id,ds,y\nB,2020-09-01T08:00,1\nA,2020-09-01,1\nB,2020-09-01T08:00,2\nA,2020-09-01,3\nB,2020-09-01T08:00,4\n"
    )
    with pytest.raises(DataError, match=r"line 4: series 'B' has ds 2020-09-01 08:00:00 twice \(first on line 2\)$"):
        list(ActualsFile(path, batch=2))
