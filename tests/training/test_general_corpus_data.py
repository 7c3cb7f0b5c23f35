"""data/general_corpus/ as shipped (issue 33): the counts its README states, M3 kept out, and the training pool
`make train` builds from it (pool.py): deterministic, sources left out on request, undated series dropped."""

from __future__ import annotations

import csv
import gzip
import subprocess
import sys

import pytest

from paxcast.training.data import read_series
from tests.conftest import ROOT

CORPUS = ROOT / "data" / "general_corpus"


@pytest.mark.parametrize(
    ("name", "series", "rows"),
    [
        ("m4_other_monthly_train", 277, 58_954),
        ("m4_other_monthly_test", 277, 4_986),
        ("m4_other_quarterly_train", 865, 72_769),
        ("m4_other_quarterly_test", 865, 6_920),
        ("extra_monthly_full", 2_467, 495_154),
        ("extra_quarterly_full", 268, 17_795),
    ],
)
def test_each_file_holds_the_series_and_rows_its_readme_states(name, series, rows):
    with gzip.open(CORPUS / f"{name}.csv.gz", "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert lines[0] == "unique_id,ds,y" and len(lines) - 1 == rows
    assert len({line.split(",", 1)[0] for line in lines[1:]}) == series


def test_no_series_that_is_an_m3_series_is_in_the_corpus():
    with open(CORPUS / "m3_overlap.csv", encoding="utf-8", newline="") as f:
        overlap = {row["corpus_id"] for row in csv.DictReader(f)}
    assert len(overlap) == 115
    for name in ("extra_monthly_full", "extra_quarterly_full"):
        with gzip.open(CORPUS / f"{name}.csv.gz", "rt", encoding="utf-8") as f:
            ids = {line.split(",", 1)[0] for line in f}
        assert not ids & overlap


def pool(tmp_path, *args: str) -> tuple[str, list]:
    out = tmp_path / "pool.csv.gz"
    done = subprocess.run(
        [sys.executable, str(CORPUS / "pool.py"), "--freq", "quarterly", "--out", str(out), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout, read_series(out), out.read_bytes()


def test_the_quarterly_pool_is_tourism_and_the_corpus_byte_for_byte_again_without_undated_series(tmp_path):
    said, series, first = pool(tmp_path)
    # the zero-shot bench's austres, woolyrnq and ausbeer are tsdl and aus_production series: left out of training
    copies = "ausproduction_Beer (ausbeer), tsdl_125 (austres), tsdl_158 (woolyrnq)"
    assert said.endswith(
        f"128986 rows (quarterly; 4 undated series left out; copies of zero-shot series left out: {copies})\n"
    )
    ids = {s.id for s in series}
    assert len(ids) == 427 + 865 + 268 - 4 - 3
    assert not {"ausproduction_Beer", "tsdl_125", "tsdl_158"} & ids and "ausproduction_Gas" in ids
    assert {"q1", "Q23136", "m1_QNB1", "tsdl_411"} <= ids and "m1_QNB11" not in ids  # QNB11 starts in year 1
    assert min(s.start for s in series) >= "1700"
    assert pool(tmp_path)[2] == first  # gzip mtime 0: the card's data_sha256 names one pool


def test_a_fold_leaves_whole_sources_out_and_an_unknown_source_is_one_line(tmp_path):
    _, series, _ = pool(tmp_path, "--without", "m1,tsdl")
    assert not any(s.id.startswith(("m1_", "tsdl_")) for s in series)
    assert any(s.id.startswith("ausproduction_") for s in series)
    done = subprocess.run(
        [
            sys.executable,
            str(CORPUS / "pool.py"),
            "--freq",
            "quarterly",
            "--out",
            str(tmp_path / "x"),
            "--without",
            "m3",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "unknown quarterly source(s) ['m3']" in done.stderr
