import numpy as np
import pytest

from paxcast.training.data import DataError, make_windows, read_series
from paxcast.training.pipeline import check_series, resolve_config

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
        (HEADER + "s,2020-01-01,1\ns,2020-01-01,2\n", "line 3: duplicate ds 2020-01-01 in series 's'"),
        (HEADER + "s,2020-02-01,1\ns,2020-01-01,2\n", "line 3: ds 2020-01-01 is before the previous row's"),
        (
            HEADER + "s,2020-01-01,1\ns,2020-02-01,2\ns,2020-04-01,3\n",
            "line 4: ds 2020-04-01T00:00:00 does not follow 2020-02-01T00:00:00 at the series' monthly frequency",
        ),
        (HEADER + "s,2020-01-01,1\ns,2020-01-05,2\n", "line 3: the spacing"),
        (HEADER + "s,2020-01-01,1\ns,2020-02-01\n", "line 3: expected 3 fields, got 2"),
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
        "duplicate",
        "unsorted",
        "gap",
        "irregular",
        "short-row",
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
    config = resolve_config(series, horizon=12)
    with pytest.raises(
        DataError, match=r"series 's' has 40 rows; window 36 \+ horizon 12 \+ 1 validation window needs at least 49"
    ):
        check_series(path, series, config)


def test_log_transform_refuses_non_positive_values(tmp_path):
    path = write(tmp_path, HEADER + monthly(60, value=0.0))
    series = read_series(path)
    with pytest.raises(DataError, match="value #1 is 0; the log transform needs y > 0"):
        check_series(path, series, resolve_config(series, horizon=6, transform="log"))


def test_make_windows_pairs_history_with_the_following_horizon():
    y = np.arange(10.0)
    x, target = make_windows(y, window=4, horizon=3)
    assert x.shape == (4, 4) and target.shape == (4, 3)
    assert x[1].tolist() == [1, 2, 3, 4] and target[1].tolist() == [5, 6, 7]
    assert make_windows(y, window=8, horizon=3)[0].shape == (0, 8)
