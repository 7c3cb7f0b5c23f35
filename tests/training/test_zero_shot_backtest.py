"""`paxcast backtest --train-on FILE --general DIR`: general models judged on series from a source they never saw
(issue 33's leave-source-out protocol, docs/accuracy.md)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from paxcast.service.cli.main import main
from tests.conftest import write_monthly

TINY = ["--window", "36", "--hidden", "8", "--steps", "30"]


@pytest.fixture(scope="module")
def other_source(tmp_path_factory):
    """Another source's series: the same generator, other ids, so nothing scored is in training."""
    folder = tmp_path_factory.mktemp("other")
    train, _ = write_monthly(folder)
    text = train.read_text().replace("\nM", "\nP")
    train.write_text(text)
    return train


@pytest.mark.slow
def test_the_network_trains_on_the_other_file_and_forecasts_the_scored_series_zero_shot(
    monthly_split, other_source, general_registry, tmp_path, capsys
):
    out = tmp_path / "bt.json"
    argv = ["backtest", "--data", str(monthly_split[0]), "--test", str(monthly_split[1]), *TINY]
    argv += ["--train-on", str(other_source), "--general", str(general_registry / "general_monthly")]
    argv += ["--peers", "SeasonalNaive", "--json", str(out), "--plot", str(tmp_path / "bt.png")]
    assert main(argv) == 0
    document = json.loads(out.read_text())
    (origin,) = document["origins"]
    assert origin["scored"] == 6 and origin["ids"][0] == "M0"
    assert origin["training"]["series"] == 6  # the other file's six, not the scored ones
    # trained with the defaults `paxcast train` gives the other file (horizon 24), scored on the test's 12 months
    assert document["settings"]["hyperparameters"]["horizon"] == 24
    assert document["splits"].endswith("horizon 12")
    labels = ["paxcast global LSTM", "general_monthly (general, zero-shot)", "SeasonalNaive"]
    assert list(document["summary"]) == labels
    for label in labels:
        row = document["summary"][label]
        assert row["points"] == 72 and 0 < row["smape"] < 200 and row["mase"] > 0
    assert "sMAPE%" in capsys.readouterr().out


def test_nhits_trained_on_one_frame_forecasts_the_series_of_another():
    import pandas as pd

    from paxcast.training.backtest.neural import nhits_forecast

    t = np.arange(60)
    wave = 1 + 0.3 * np.sin(2 * np.pi * t / 12)
    train = pd.concat([pd.DataFrame({"unique_id": f"t{k}", "ds": t, "y": 10.0 * (k + 1) * wave}) for k in range(3)])
    scored = pd.concat(
        [pd.DataFrame({"unique_id": uid, "ds": t[:48], "y": size * wave[:48]}) for uid, size in (("b", 1e4), ("a", 1))]
    )
    out = nhits_forecast(train, ["a", "b"], "MS", 12, 6, [80], max_steps=2, predict_on=scored, window=72)
    assert out["mean"].shape == (2, 6)
    # each forecast follows its own series, the 48-value histories padded to the 72-value window
    assert out["mean"][1].mean() > 100 * abs(out["mean"][0].mean())


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--train-on", "X"], "--train-on and --general score a multi-series file zero-shot on --test's split"),
        (["--general", "models/general_monthly"], "give --test"),
    ],
    ids=["train-on", "general"],
)
def test_zero_shot_flags_without_a_test_split_are_one_line(monthly_split, tmp_path, capsys, flags, message):
    argv = ["backtest", "--data", str(monthly_split[0]), *TINY, *flags, "--json", str(tmp_path / "x.json")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_a_one_series_backtest_refuses_train_on(tmp_path, capsys):
    assert main(["backtest", "--data", "data/air_passengers.csv", "--train-on", "x.csv"]) == 2
    assert "--train-on applies to multi-series files" in capsys.readouterr().err
