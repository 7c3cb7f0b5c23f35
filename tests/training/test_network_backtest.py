"""`paxcast backtest` on a multi-series file: a small synthetic daily file, a tiny network, every peer."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math

import numpy as np
import pytest

from paxcast.service.cli.main import main
from paxcast.training.data import Series

DAYS = 130  # 2021-01-01 .. 2021-05-10
START = dt.date(2021, 1, 1)
# A holiday file of 2021 alone: the load check's probe forecast must stay inside the years it covers.
HOLIDAYS = [dt.date(2021, 2, 11), dt.date(2021, 2, 12), dt.date(2021, 3, 1), dt.date(2021, 4, 20)]
HOLIDAYS += [dt.date(2021, 5, 5)]
WEEK = np.array([1.0, 1.05, 1.1, 1.05, 1.2, 0.6, 0.4])  # Monday first
GAP = (104, 105, 106)  # series D has no rows on these days
ORIGINS = (101, 115)  # the default origins: the data's last two horizons of 14 days end at day 129
METHODS = ["paxcast global LSTM", "SeasonalNaive", "AutoETS", "AutoTheta", "MSTL"]
TINY = ["--window", "14", "--horizon", "14", "--steps", "10", "--hidden", "4", "--lr", "1e-9"]


def make_values() -> dict[str, dict[int, float]]:
    """Six series (day index -> value): a weekly pattern, holidays halve, different scales, zeros, a gap,
    a late start and an early end."""
    rng = np.random.default_rng(1)
    shapes = {
        "A": (5000, 0, DAYS),
        "B": (120, 0, DAYS),
        "C": (4, 0, DAYS),  # closed at weekends: zeros
        "D": (800, 0, DAYS),
        "E": (300, 96, DAYS),  # starts 6 days before the first origin: too short there
        "F": (60, 0, 112),  # ends before the second origin: nothing to score there
    }
    out = {}
    for uid, (level, first, last) in shapes.items():
        out[uid] = {}
        for d in range(first, last):
            day = START + dt.timedelta(d)
            if uid == "D" and d in GAP:
                continue
            value = level * WEEK[day.weekday()] * (0.5 if day in HOLIDAYS else 1.0) * (1 + rng.normal(0, 0.03))
            out[uid][d] = 0.0 if uid == "C" and day.weekday() >= 5 else round(value, 2)
    return out


@pytest.fixture(scope="module")
def values() -> dict[str, dict[int, float]]:
    return make_values()


@pytest.fixture(scope="module")
def files(tmp_path_factory, values):
    folder = tmp_path_factory.mktemp("multi")
    data, holidays = folder / "stations.csv", folder / "holidays.csv"
    rows = [f"{uid},{START + dt.timedelta(d)},{v}" for uid, days in values.items() for d, v in days.items()]
    data.write_text("unique_id,ds,y\n" + "\n".join(rows) + "\n")
    holidays.write_text("ds\n" + "\n".join(str(d) for d in HOLIDAYS) + "\n")
    return data, holidays


@pytest.fixture(scope="module")
def backtest(files, tmp_path_factory):
    """One run of `paxcast backtest` on the file (default origins), in-process; its exit code, output, files."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads on a shared 2-core host made each step ~100x slower
    out = tmp_path_factory.mktemp("out")
    data, holidays = files
    report, picture = out / "bt.json", out / "bt.png"
    stdout = io.StringIO()
    try:
        with contextlib.redirect_stdout(stdout):
            code = main(
                ["backtest", "--data", str(data), "--holidays", str(holidays), *TINY, "--json", str(report)]
                + ["--plot", str(picture)]
            )
    finally:
        torch.set_num_threads(threads)
    return code, stdout.getvalue().splitlines(), report, picture


def test_the_cli_exits_0_and_writes_the_json_and_the_png(backtest):
    code, lines, report, picture = backtest
    assert code == 0
    assert lines[-1] == f"wrote {report} and {picture}"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = next(k for k, line in enumerate(lines) if line.startswith("backtest on "))
    assert "origins 2021-04-12, 2021-04-26 (last history point), horizon 14" in lines[table]
    assert [line.split("  ")[0] for line in lines[table + 2 : table + 7]] == METHODS


def test_the_json_has_every_method_at_every_origin_and_every_metric_is_finite(backtest):
    document = json.loads(backtest[2].read_text())
    assert document["kind"] == "global" and document["levels"] == [80, 95]
    assert document["settings"]["origins"] == ["2021-04-12", "2021-04-26"]
    assert document["settings"]["hyperparameters"]["window"] == 14
    assert document["settings"]["covariates"]["holiday_file"] == "holidays.csv"
    assert list(document["summary"]) == METHODS
    keys = {"series", "points", "wape", "mase", "mase_median", "mase_p90", "mase_series"}
    keys |= {f"{m}{lv}" for m in ("coverage", "width") for lv in (80, 95)}
    rows = [document["summary"][m] for m in METHODS]
    rows += [origin["methods"][m] for origin in document["origins"] for m in METHODS]
    for row in rows:
        assert keys <= set(row)
        assert all(isinstance(row[k], int | float) and math.isfinite(row[k]) for k in keys | {"seconds"})
    for origin in document["origins"]:
        assert list(origin["methods"]) == METHODS
        assert origin["training"]["series"] == 6 and origin["training"]["parity"] < 1e-4
        for method in METHODS:
            assert len(origin["mase_by_series"][method]["mase"]) == origin["scored"]


def test_drops_and_imputations_are_counted(backtest):
    first, second = json.loads(backtest[2].read_text())["origins"]
    assert first["ids"] == ["A", "B", "C", "D", "F"]  # E: 6 days of history, the window is 14
    assert first["dropped"] == {"no_history": 0, "short_history": 1, "no_actual": 0}
    assert first["imputed"] == {"posted_windows": 0, "histories_with_gaps": 0}  # D's gap is in the horizon
    assert first["methods"]["SeasonalNaive"]["points"] == 5 * 14 - 3 - 4  # D's gap; F ends after 10 days
    assert second["ids"] == ["A", "B", "C", "D", "E"]  # F has no actual after its end
    assert second["dropped"] == {"no_history": 0, "short_history": 0, "no_actual": 1}
    assert second["imputed"] == {"posted_windows": 1, "histories_with_gaps": 1}  # D's gap, inside the window
    assert second["methods"]["SeasonalNaive"]["points"] == 5 * 14


def seasonal_naive_wape(values, origins) -> float:
    """Pooled WAPE of "the last week again" over the scored series, from the raw values alone."""
    errors, actuals = [], []
    for origin in origins:
        for days in values.values():
            history = [d for d in days if d <= origin]
            future = [d for d in days if origin < d <= origin + 14]
            if not history or origin - min(history) + 1 < 14 or not future:
                continue
            for d in future:
                errors.append(abs(days[origin - 6 + (d - origin - 1) % 7] - days[d]))
                actuals.append(abs(days[d]))
    return 100 * sum(errors) / sum(actuals)


def test_seasonal_naive_wape_matches_an_independent_computation(backtest, values):
    document = json.loads(backtest[2].read_text())
    for k, origin in enumerate(ORIGINS):
        got = document["origins"][k]["methods"]["SeasonalNaive"]["wape"]
        assert got == pytest.approx(seasonal_naive_wape(values, [origin]), rel=1e-9)
    assert document["summary"]["SeasonalNaive"]["wape"] == pytest.approx(seasonal_naive_wape(values, ORIGINS))


def test_the_served_forecast_lines_up_with_the_actuals(backtest):
    """With lr 1e-9 the network stays its untrained self, weekly seasonal naive, so the service's forecasts
    (posted from `start`, gaps imputed) score what statsforecast's SeasonalNaive scores."""
    document = json.loads(backtest[2].read_text())
    for origin in document["origins"]:
        ours, naive = origin["methods"]["paxcast global LSTM"], origin["methods"]["SeasonalNaive"]
        assert ours["wape"] == pytest.approx(naive["wape"], rel=1e-4)
        assert ours["coverage80"] <= ours["coverage95"] and ours["width80"] < ours["width95"]


@pytest.mark.parametrize(
    "flags, code, message",
    [
        (["--origins", "2020-06-01"], 3, "--origins: 2020-06-01 is before the data, which starts 2021-01-01"),
        (
            ["--origins", "2021-04-12T06:00"],
            2,
            "--origins '2021-04-12T06:00': 2021-04-12T06:00:00 is not on the daily grid of the data",
        ),
        (["--origins", "2021-04-12,soon"], 2, "--origins '2021-04-12,soon': 'soon' is not an ISO date or date-time"),
        (["--origins", "2021-05-10"], 3, "--origins: 2021-05-10 leaves no actual to score; the data ends 2021-05-10"),
        (["--origins", "2021-04-12,2021-04-12"], 2, "--origins '2021-04-12,2021-04-12': an origin is repeated"),
        (["--origins", "2021-02-01"], 3, "before 2021-02-01: the longest series has 32 steps"),
        (["--peers", "SeasonalNaive,Prophet"], 2, "--peers 'SeasonalNaive,Prophet': unknown peer 'Prophet'"),
        (["--peers", "MSTL24"], 2, "--peers 'MSTL24': unknown peer 'MSTL24'"),
        (["--peer-history", "10"], 2, "--peer-history 10 must be at least 2 seasons of the data's 7 steps"),
        (["--origins", "last3@23:00"], 2, "--origins 'last3@23:00': daily origins at an hour need hourly data"),
        (["--holdout", "14"], 2, "--holdout applies to one-series files"),
        (["--epochs", "3"], 2, "--epochs applies to per-series models"),
    ],
    ids=[
        "before-the-data",
        "off-the-grid",
        "not-a-date",
        "no-actual",
        "repeated",
        "too-early",
        "peer",
        "peer-season",
        "peer-history",
        "daily-at-an-hour",
        "holdout",
        "flag",
    ],
)
def test_bad_flags_are_one_line_before_any_training(files, tmp_path, capsys, flags, code, message):
    report = tmp_path / "x.json"
    args = [
        "backtest",
        "--data",
        str(files[0]),
        *TINY,
        *flags,
        "--json",
        str(report),
        "--plot",
        str(tmp_path / "x.png"),
    ]
    assert main(args) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err
    assert not report.exists()


def test_hourly_origins_are_date_times_on_the_hour():
    from paxcast.service.core.exceptions import UsageError
    from paxcast.training.backtest.cuts import parse_origins

    series = [
        Series("a", "2015-01-01T00:00:00", "h", np.ones(24 * 40)),
        Series("b", "2015-01-02T05:00:00", "h", np.ones(99)),
    ]
    assert parse_origins("2015-01-30T23:00,2015-01-20", series, 168) == [
        dt.datetime(2015, 1, 20),
        dt.datetime(2015, 1, 30, 23),
    ]
    with pytest.raises(UsageError, match="2015-01-30T23:30:00 is not on the hourly grid"):
        parse_origins("2015-01-30T23:30", series, 168)
