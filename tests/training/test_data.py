import gzip
import time
from pathlib import Path

import numpy as np
import pytest

from paxcast.training.data import DataError, read_series, require_complete
from paxcast.training.series.designs import check_series, resolve_config

HEADER = "unique_id,ds,y\n"


def write(tmp_path, text, name="bad.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def monthly(n, start_year=2000, value=100.0):
    return "".join(f"s,{start_year + i // 12}-{i % 12 + 1:02d}-01,{value + i}\n" for i in range(n))


def test_reads_the_shipped_series(air_csv):
    (series,) = read_series(air_csv)
    assert series.freq == "MS" and series.season == 12 and series.start == "1949-01-01"
    assert len(series.y) == 144
    assert series.y[:12].tolist() == [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118]
    assert series.y[-1] == 432


def test_unique_id_is_optional_for_one_series(tmp_path):
    path = write(tmp_path, "ds,y\n2020-01-01,1\n2020-04-01,2\n2020-07-01,3\n")
    (series,) = read_series(path)
    assert series.freq == "QS" and series.season == 4


def test_reads_several_series_in_order(tmp_path):
    path = write(tmp_path, HEADER + "b,2020-01-01,1\nb,2020-01-02,2\na,2020-01-01,5\na,2020-01-02,6\n")
    assert [s.id for s in read_series(path)] == ["b", "a"]


def test_a_series_whose_own_spacing_names_no_frequency_is_read_on_the_files_grid(tmp_path):
    # a station opened yesterday (one row) and one with a few rows and gaps must not refuse the network
    daily = "".join(f"a,2020-01-{d:02d},{d}\n" for d in range(1, 11))
    path = write(tmp_path, HEADER + "new,2020-01-10,7\n" + daily + "gappy,2020-01-02,1\ngappy,2020-01-05,4\n")
    new, a, gappy = read_series(path)
    assert (new.freq, new.start, new.y.tolist()) == ("D", "2020-01-10", [7.0])
    assert a.freq == "D" and gappy.freq == "D" and gappy.missing == 2 and gappy.y[3] == 4
    only = write(tmp_path, HEADER + "new,2020-01-10,7\n")  # nothing else names the grid: still an error
    with pytest.raises(DataError, match="series 'new' has a single row"):
        read_series(only)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("unique_id,date,y\ns,2020-01-01,1\n", "line 1: missing column 'ds'"),
        ("ds,value\n2020-01-01,1\n", "line 1: missing column 'y'"),
        ("", "line 1: the file is empty"),
        ("ds,y\n", "line 2: the file has a header but no rows"),
        (HEADER + "s,2020-01-01,1\ns,2020-13-01,2\n", "line 3: ds '2020-13-01' is not an ISO date"),
        (HEADER + "s,2020-01-01,1\ns,2020-02-01,abc\n", "line 3: y 'abc' is not a number"),
        (HEADER + "s,2020-01-01,1\ns,2020-02-01,inf\n", "line 3: y 'inf' is not finite"),
        (HEADER + "s,2020-01-01,1\ns,2020-02-01,nan\n", "line 3: y 'nan' is not finite"),
        (HEADER + "s,2020-01-01,1\ns,2020-02-01,-1.2e38\n", "line 3: y '-1.2e38' is beyond ±1e+30, where training"),
        (HEADER + "s,2020-01-01,1\ns,2020-01-01,2\n", "line 3: duplicate ds 2020-01-01 in series 's'"),
        (HEADER + "s,2020-02-01,1\ns,2020-01-01,2\n", "line 3: ds 2020-01-01 is before the previous row's"),
        (
            HEADER
            + "s,2020-01-01T10:00:00,1\ns,2020-01-01T11:00:00,2\ns,2020-01-01T12:00:00,3\n"
            + "s,2020-01-01T12:30:00,4\ns,2020-01-01T14:00:00,5\n",
            "line 5: ds 2020-01-01T12:30:00 is off the hourly grid of series 's' (which starts "
            "2020-01-01T10:00:00; timestamps must fall on whole hours)",
        ),
        (
            HEADER + "s,2020-01-01,1\ns,2020-01-02,2\ns,2020-01-04T12:00:00,3\n",
            "line 4: ds 2020-01-04T12:00:00 is off the daily grid of series 's'",
        ),
        (
            HEADER + "s,2020-01-01,1\ns,2020-01-08,2\ns,2020-01-18,3\n",
            "line 4: ds 2020-01-18T00:00:00 is off the weekly grid of series 's' (which starts "
            "2020-01-01T00:00:00; timestamps must fall on midnights 7 days apart from 2020-01-01)",
        ),
        (
            HEADER + "a,2020-01-01,1\na,2020-01-02,2\nb,2020-01-01T00:00:00,1\nb,2020-01-01T01:00:00,2\n",
            "line 4: series 'b' is hourly but series 'a' (line 2) is daily; one frequency per file",
        ),
        (HEADER + 's,2020-01-01,1\n"s",2020-01-02,"x"\n', "line 3: y 'x' is not a number"),
        (HEADER + "s,2020-01-01,1\ns,2020-01-05,2\n", "line 3: the spacing"),
        (HEADER + "s,2020-01-01,1\ns,2020-02-01\n", "line 3: expected 3 fields, got 2"),
        (
            HEADER + "a,2020-01-01,1\na,2020-01-02,2\nw,2020-01-01,7\nw,2020-01-08,7\nw,2020-01-15,7\n",
            "line 4: series 'w' is weekly but series 'a' (line 2) is daily; one frequency per file",
        ),
        (
            HEADER + "a,2020-01-01,1\na,2020-01-02,2\nnew,2020-01-05T06:00:00,3\n",
            "line 4: ds 2020-01-05T06:00:00 is off the daily grid of series 'new'",
        ),
        (HEADER + ",2020-01-01,1\n", "line 2: unique_id is empty"),
    ],
    ids=[
        "no-ds",
        "no-y",
        "empty",
        "header-only",
        "bad-date",
        "non-numeric",
        "inf",
        "nan",
        "beyond-float32",
        "duplicate",
        "unsorted",
        "off-grid-hour",
        "off-grid-day",
        "off-grid-week",
        "mixed-freq",
        "quoted",
        "irregular",
        "short-row",
        "weekly-in-daily",
        "new-station-off-grid",
        "empty-id",
    ],
)
def test_bad_files_stop_with_one_line_naming_file_line_and_rule(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        read_series(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_too_few_rows_for_window_and_horizon(tmp_path):
    path = write(tmp_path, HEADER + monthly(40))
    series = read_series(path)
    assert resolve_config(series, horizon=12).window == 24  # three seasons do not fit 40 months; two do
    assert resolve_config(series).window == 36  # nor do two for window and horizon: refused below, with a hint
    short = read_series(write(tmp_path, HEADER + monthly(20)))
    with pytest.raises(
        DataError,
        match=r"series 's' has 20 rows; window 36 \+ horizon 12 \+ 1 validation window needs at least 49; "
        r"give a shorter --window \(above the season, 12\) and --horizon that add up to at most 19$",
    ):
        check_series(path, short, resolve_config(short, horizon=12))


def test_log_transform_refuses_non_positive_values(tmp_path):
    path = write(tmp_path, HEADER + monthly(60, value=0.0))
    series = read_series(path)
    with pytest.raises(DataError, match="value #1 is 0; the log transform needs y > 0"):
        check_series(path, series, resolve_config(series, horizon=6, transform="log"))


def test_a_missing_timestamp_is_nan_on_the_grid_never_filled(tmp_path):
    path = write(tmp_path, HEADER + "s,2020-01-01,1\ns,2020-02-01,2\ns,2020-04-01,3\nt,2020-01-01,5\nt,2020-02-01,6\n")
    gapped, complete = read_series(path)
    assert gapped.freq == "MS" and gapped.missing == 1 and complete.missing == 0
    assert np.array_equal(gapped.y, [1, 2, np.nan, 3], equal_nan=True)
    with pytest.raises(
        DataError, match=r"series 's' has 1 missing timestamps \(first 2020-03-01\); the LSTM needs a complete series"
    ):
        require_complete(path, [gapped, complete], "the LSTM")


def test_hourly_gaps_such_as_a_daylight_saving_hour_are_counted(tmp_path, caplog):
    hours = [f"2013-10-06T{h:02d}:00:00" for h in (0, 1, 3, 4)]  # 02:00 does not exist in Melbourne that night
    path = write(tmp_path, HEADER + "".join(f"m,{h},{i}\n" for i, h in enumerate(hours)))
    with caplog.at_level("INFO", logger="paxcast.training.data"):
        (series,) = read_series(path)
    assert series.freq == "h" and series.start == "2013-10-06T00:00:00" and series.missing == 1
    assert np.isnan(series.y[2]) and series.y[3] == 2
    assert "1 missing grid points in 1 series" in caplog.text


def test_reads_gzip_the_same_as_plain_text(tmp_path):
    text = HEADER + monthly(30) + monthly(30).replace("s,", "t,")
    plain = write(tmp_path, text, "plain.csv")
    packed = tmp_path / "packed.csv.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    for a, b in zip(read_series(plain), read_series(packed), strict=True):
        assert (a.id, a.start, a.freq) == (b.id, b.start, b.freq) and np.array_equal(a.y, b.y)


def test_a_bad_row_in_a_gzip_file_names_its_line(tmp_path):
    packed = tmp_path / "bad.csv.gz"
    packed.write_bytes(gzip.compress((HEADER + monthly(5) + "s,2001-01-01,oops\n").encode()))
    with pytest.raises(DataError, match=r"bad.csv.gz: line 7: y 'oops' is not a number"):
        read_series(packed)


SEOUL = Path(__file__).parents[2] / "data" / "seoul_subway_daily" / "seoul_subway_daily.csv.gz"


def test_reads_the_seoul_file_in_seconds():
    started = time.perf_counter()
    series = read_series(SEOUL)
    elapsed = time.perf_counter() - started
    assert len(series) == 584 and {s.freq for s in series} == {"D"}
    assert sum(int(np.isfinite(s.y).sum()) for s in series) == 991823 and sum(s.missing for s in series) == 0
    assert elapsed < 20, f"reading took {elapsed:.1f}s"
