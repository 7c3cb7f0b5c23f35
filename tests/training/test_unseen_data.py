"""The zero-shot series (data/unseen/) as data/unseen/README.md states them: ids, frequency, length, dates."""

from __future__ import annotations

import datetime as dt

import pytest

from paxcast.service.core.calendar import step
from paxcast.training.data import read_series
from tests.conftest import ROOT

UNSEEN = ROOT / "data" / "unseen"

# id, file, freq, values, first ds, last ds: the table of data/unseen/README.md
STATED = [
    ("elec_equip", "monthly.csv.gz", "MS", 257, "1995-01-01", "2016-05-01"),
    ("wineind", "monthly.csv.gz", "MS", 176, "1980-01-01", "1994-08-01"),
    ("seoul_subway_total", "monthly.csv.gz", "MS", 49, "2016-01-01", "2020-01-01"),
    ("melbourne_pedestrian_total", "monthly.csv.gz", "MS", 37, "2012-01-01", "2015-01-01"),
    ("austres", "quarterly.csv.gz", "QS", 89, "1971-04-01", "1993-04-01"),
    ("woolyrnq", "quarterly.csv.gz", "QS", 119, "1965-01-01", "1994-07-01"),
    ("ausbeer", "quarterly.csv.gz", "QS", 211, "1956-01-01", "2008-07-01"),
]


@pytest.mark.parametrize("file", ["monthly.csv.gz", "quarterly.csv.gz"])
def test_unseen_files_hold_the_series_the_readme_states(file):
    stated = {row[0]: row[2:] for row in STATED if row[1] == file}
    series = {s.id: s for s in read_series(UNSEEN / file)}
    assert sorted(series) == sorted(stated)
    for sid, (freq, n, first, last) in stated.items():
        s = series[sid]
        assert (s.freq, len(s.y), s.start, s.missing) == (freq, n, first, 0), sid
        assert step(dt.datetime.fromisoformat(s.start), s.freq, n - 1).date().isoformat() == last, sid
        assert (s.y > 0).all(), sid
