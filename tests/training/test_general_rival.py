"""`paxcast backtest --general`: the dedicated per-series model and a general one, zero-shot, on the same splits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from paxcast.service.cli.main import main
from paxcast.service.core.registry import current_version
from paxcast.service.core.request import ForecastRequest
from paxcast.service.inference.predictor import Predictor
from paxcast.training.data import read_series
from tests.conftest import ROOT

TINY = ["--window", "24", "--hidden", "4", "--epochs", "3", "--patience", "3", "--ensemble", "1"]


def test_backtest_scores_the_general_model_on_the_dedicated_models_splits(tmp_path, air_csv, capsys, general_registry):
    model_dir = general_registry / "general_monthly"
    report = tmp_path / "bt.json"
    argv = ["backtest", "--data", str(air_csv), "--origins", "120,132", "--horizon", "6", *TINY]
    argv += ["--general", str(model_dir), "--json", str(report), "--plot", str(tmp_path / "bt.png")]
    assert main(argv) == 0
    label = "general_monthly (general, zero-shot)"
    assert any(line.startswith(label) for line in capsys.readouterr().out.splitlines())
    document = json.loads(report.read_text())
    assert {"LSTM (paxcast)", label, "SeasonalNaive"} <= set(document["summary"])
    # What the row scores is what the service answers for the history before the origin, from its date.
    predictor = Predictor.load(model_dir / current_version(general_registry, "general_monthly"))
    first = 132 - predictor.window  # the second split's origin is 132 (1960-01), the series starts 1949-01
    history = read_series(air_csv)[0].y[first:132].tolist()
    start = f"{1949 + first // 12}-{first % 12 + 1:02d}-01"
    request = {"series": [{"id": "air", "history": history, "start": start}], "horizon": 6, "level": [80]}
    served = predictor.forecast(ForecastRequest.model_validate(request))
    stored = document["runs"][1]["forecasts"][label]
    np.testing.assert_allclose(stored["mean"], served.mean, rtol=1e-6)
    np.testing.assert_allclose(stored["intervals"]["80"]["lower"], served.intervals["80"][0], rtol=1e-6)


@pytest.mark.parametrize(
    ("general", "flags", "message"),
    [
        ("nowhere", [], "--general nowhere: neither a registered model (CURRENT) nor a version (model.json)"),
        (
            str(ROOT / "models" / "air_passengers"),
            [],
            "'air_passengers' is not a general model for monthly series (a per-series model)",
        ),
        (
            str(ROOT / "models" / "general_quarterly"),
            [],
            "'general_quarterly' is not a general model for monthly series (a quarterly model)",
        ),
        (
            str(ROOT / "models" / "general_monthly"),
            ["--holdout", "36"],
            "forecasts at most 24 steps; the splits ask 36",
        ),
        (str(ROOT / "models" / "general_monthly"), ["--cells", "lstm,gru"], "--general and --cells"),
        (
            str(ROOT / "models" / "general_monthly"),
            ["--origins", "20"],
            "'general_monthly' needs at least 24 values of history; the earliest split leaves 20",
        ),
    ],
    ids=["missing", "per-series", "other-frequency", "too-long", "with-cells", "too-short"],
)
def test_a_general_model_that_cannot_answer_the_splits_is_one_line(air_csv, capsys, tmp_path, general, flags, message):
    argv = ["backtest", "--data", str(air_csv), "--origins", "120", "--horizon", "12", *flags]
    if "--holdout" in flags:
        argv = ["backtest", "--data", str(air_csv), *flags]
    argv += ["--general", general, "--json", str(tmp_path / "x.json"), "--plot", str(tmp_path / "x.png")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and message in captured.err, captured.err
    assert not (tmp_path / "x.json").exists()


def test_a_history_shorter_than_the_window_is_posted_padded_from_its_own_start(general_registry):
    from paxcast.training.backtest.general import load_general
    from paxcast.training.served import served_forecast

    model_dir = general_registry / "general_monthly"
    label, predictor = load_general(model_dir, "MS", horizon=6, shortest=30)
    assert label == "general_monthly (general, zero-shot)" and predictor.window == 36 > 30
    air = read_series(ROOT / "data" / "air_passengers.csv")[0]
    short = type(air)(air.id, air.start, air.freq, air.y[:30])  # 1949-01 .. 1951-06
    ours = served_forecast(predictor, [short], 6, [80], "--general")
    request = {"series": [{"id": "a", "history": air.y[:30].tolist(), "start": "1949-01-01"}], "horizon": 6}
    served = predictor.forecast(ForecastRequest.model_validate({**request, "level": [80]}))
    np.testing.assert_allclose(ours["mean"], served.mean, rtol=1e-6)
    np.testing.assert_allclose(ours["intervals"][80][1], served.intervals["80"][1], rtol=1e-6)
