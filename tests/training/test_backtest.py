import json

import numpy as np
import pytest

from paxcast.service.cli.main import main
from paxcast.training import metrics

TINY = ["--window", "24", "--hidden", "4", "--epochs", "3", "--patience", "3", "--ensemble", "1"]
METHODS = ["LSTM (paxcast)", "LSTM's baseline (no network)", "SeasonalNaive", "AutoETS", "AutoTheta", "AutoARIMA"]


@pytest.mark.slow
def test_rolling_backtest_prints_the_table_and_writes_json_and_plot(tmp_path, air_csv, capsys):
    report, picture = tmp_path / "bt.json", tmp_path / "bt.png"
    code = main(
        [
            "backtest",
            "--data",
            str(air_csv),
            "--origins",
            "120,132",
            "--horizon",
            "6",
            *TINY,
            "--json",
            str(report),
            "--plot",
            str(picture),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("origin 1/2 (train on 120 values, forecast 6): window 24, inner MAPE")
    assert out[1].startswith("origin 2/2 (train on 132 values, forecast 6)")
    assert out[2].startswith(f"backtest on {air_csv}: rolling origins 120,132, horizon 6 (2 splits); machine:")
    assert out[3].split()[:5] == ["method", "MAPE%", "WAPE%", "sMAPE%", "MASE"] and out[3].split()[-2:] == [
        "MAPE@120",
        "MAPE@132",
    ]
    rows = {line[:30].strip(): line for line in out[4:10]}
    assert list(rows) == METHODS
    assert sum(line.count("*") for line in out[4:10]) == 7  # one best per column: 5 errors, 2 coverages
    assert out[-1] == f"wrote {report} and {picture}"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    document = json.loads(report.read_text())
    assert list(document["summary"]) == METHODS and document["levels"] == [80, 95]
    first = document["runs"][0]
    actual = np.array(first["actual"])
    assert first["origin"] == 120 and actual.tolist() == [[360.0, 342.0, 406.0, 396.0, 420.0, 472.0]]  # 1959-01..06
    for name, forecast in first["forecasts"].items():  # the table's numbers are the metrics of the stored forecasts
        assert document["summary"][name]["splits"][0]["mape"] == pytest.approx(metrics.mape(actual, forecast["mean"]))
    inside = []  # per forecast point of every split: is the actual inside the 80 % interval?
    for run in document["runs"]:
        lstm = run["forecasts"]["LSTM (paxcast)"]
        mean = np.array(lstm["mean"])
        lower80, upper80, lower95, upper95 = (
            np.array(lstm["intervals"][lv][k]) for lv in ("80", "95") for k in ("lower", "upper")
        )
        assert (
            (lower95 < lower80).all()
            and (lower80 < mean).all()
            and (mean < upper80).all()
            and (upper80 < upper95).all()
        )
        inside += ((lower80 <= run["actual"]) & (np.array(run["actual"]) <= upper80)).ravel().tolist()
    assert len(inside) == 12
    assert document["summary"]["LSTM (paxcast)"]["coverage80"] == pytest.approx(100 * sum(inside) / len(inside))
    assert first["selection"]["chosen"]["window"] == 24


@pytest.mark.parametrize(
    "flags, code, message",
    [
        (["--holdout", "0"], 2, "paxcast backtest: --holdout must be at least 1, got 0"),
        (
            ["--holdout", "144"],
            3,
            "paxcast backtest: --holdout 144 leaves nothing to train on: series 'air_passengers' has 144 values",
        ),
        (
            ["--holdout", "120"],
            3,
            "before origin 24: series 'air_passengers' has 24 rows; "
            "window 36 + horizon 120 + 1 validation window needs at least 157",
        ),
        (["--holdout", "36", "--origins", "96"], 2, "paxcast backtest: give either --holdout or --origins, not both"),
        (["--origins", "96,x"], 2, "paxcast backtest: --origins '96,x': 'x' is not an integer"),
        (["--origins", "96,96"], 2, "paxcast backtest: --origins '96,96': an origin is repeated"),
        (
            ["--origins", "140", "--horizon", "12"],
            3,
            "paxcast backtest: --origins: origin 140 + horizon 12 "
            "runs past the end of series 'air_passengers' (144 values)",
        ),
        (["--origins", "96", "--level", "0,95"], 2, "paxcast backtest: --level '0,95': 0 is outside (0, 100)"),
        (["--origins", "96", "--level", "150"], 2, "paxcast backtest: --level '150': 150 is outside (0, 100)"),
    ],
    ids=[
        "holdout-0",
        "holdout-everything",
        "holdout-too-long",
        "both",
        "origin-not-int",
        "origin-repeated",
        "past-the-end",
        "level-0",
        "level-150",
    ],
)
def test_bad_backtest_flags_are_one_line(air_csv, capsys, tmp_path, flags, code, message):
    assert (
        main(
            [
                "backtest",
                "--data",
                str(air_csv),
                *flags,
                "--json",
                str(tmp_path / "x.json"),
                "--plot",
                str(tmp_path / "x.png"),
            ]
        )
        == code
    )
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err
    assert not (tmp_path / "x.json").exists()


def test_metrics_a_zero_actual_leaves_undefined_are_null_in_the_report_not_infinity(tmp_path):
    from paxcast.training.backtest.series_report import summarize, table

    run = {
        "actual": np.array([[0.0, 10.0, 20.0]]),
        "train": np.array([[5.0, 5.0, 5.0, 5.0]]),  # flat: MASE's scale is zero
        "forecasts": {
            "model": {"mean": np.array([[0.0, 12.0, 18.0]]), "intervals": {80: (np.zeros((1, 3)), np.full((1, 3), 30))}}
        },
    }
    summary = summarize([run], [80], season=2)
    row = summary["model"]
    assert row["mape"] is None and row["mase"] is None and row["width80"] is None
    assert row["wape"] == pytest.approx(100 * 4 / 30) and row["smape"] == pytest.approx(100 * (2 / 22 + 2 / 38) * 2 / 3)
    json.dumps(summary, allow_nan=False)  # strict JSON: what the backtest endpoint reads back
    lines = table(summary, [run | {"split": type("S", (), {"origin": -1, "horizon": 3})()}], [80], "x.csv").splitlines()
    model_row = next(line for line in lines if line.startswith("model"))
    assert model_row.split()[1] == "-" and model_row.split()[2].startswith("13.33")  # MAPE undefined; WAPE shown
