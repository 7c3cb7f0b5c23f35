"""`paxcast actuals load`: a unique_id,ds,y file into the store in one transaction, one-line errors, exit codes."""

from __future__ import annotations

import gzip

import pytest

from paxcast.service.cli.main import main
from paxcast.service.store.schema import actuals
from tests.stores import stored_count


def count(url: str) -> int:
    return stored_count(url, actuals)


def test_a_file_is_loaded_then_reloaded_as_replacements(tmp_path, store_url, capsys):
    path = tmp_path / "counts.csv.gz"
    path.write_bytes(gzip.compress(b"unique_id,ds,y\nA,2020-09-01,1\nA,2020-09-02,2\nB,2020-09-01,3.5\n"))
    assert main(["actuals", "load", str(path), "--store", store_url]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: 3 rows, 3 new, 0 replaced (")
    assert main(["actuals", "load", str(path), "--store", store_url]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: 3 rows, 0 new, 3 replaced (")
    assert count(store_url) == 3


@pytest.mark.parametrize(
    "text, rule",
    [
        ("", "line 1: the file is empty; expected a header with columns unique_id,ds,y"),
        ("ds,y\n2020-09-01,1\n", "line 1: missing column 'unique_id' (header is ds,y)"),
        ("unique_id,ds,y\n", "line 2: the file has a header but no rows"),
        ("unique_id,ds,y\nA,2020-09-01,1\nA,2020-09-02\n", "line 3: expected 3 fields, got 2"),
        ("unique_id,ds,y\n ,2020-09-01,1\n", "line 2: unique_id is empty"),
        (
            "unique_id,ds,y\nA,2020-09-31,1\n",
            "line 2: ds '2020-09-31' is not an ISO date or date-time (e.g. 2020-09-30 or 2020-09-30T08:00)",
        ),
        ("unique_id,ds,y\nA,2020-09-01,many\n", "line 2: y 'many' is not a number"),
        ("unique_id,ds,y\nA,2020-09-01,nan\n", "line 2: y nan is not finite"),
        (
            "unique_id,ds,y\nA,2020-09-01,1\nA,2020-09-01,2\n",
            "line 3: series 'A' has ds 2020-09-01 twice (first on line 2)",
        ),
    ],
    ids=["empty", "no-id-column", "no-rows", "short-row", "empty-id", "bad-date", "y-text", "y-nan", "repeat"],
)
def test_a_bad_file_is_one_line_naming_file_line_and_rule_and_writes_nothing(tmp_path, capsys, text, rule):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    path = tmp_path / "counts.csv"
    path.write_text(text)
    assert main(["actuals", "load", str(path), "--store", url]) == 3
    assert capsys.readouterr().err == f"paxcast actuals: {path}: {rule}\n"
    assert count(url) == 0


def test_a_store_that_cannot_be_opened_names_the_flag(tmp_path, capsys):
    path = tmp_path / "counts.csv"
    path.write_text("unique_id,ds,y\nA,2020-09-01,1\n")
    assert main(["actuals", "load", str(path), "--store", "postgresql+psycopg://u:pw@127.0.0.1:1/x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("paxcast actuals: --store=postgresql+psycopg://u:***@127.0.0.1:1/x: cannot open the store (")
    assert err.count("\n") == 1


def test_a_missing_file_is_exit_3(tmp_path, capsys):
    assert main(["actuals", "load", str(tmp_path / "none.csv"), "--store", f"sqlite:///{tmp_path / 's.sqlite'}"]) == 3
    assert (
        capsys.readouterr().err
        == f"paxcast actuals: {tmp_path / 'none.csv'}: cannot read the file (No such file or directory)\n"
    )
