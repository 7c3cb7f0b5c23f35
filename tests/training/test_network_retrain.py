"""`paxcast retrain` of a global champion: pooled hold-out WAPE, the champion's calendar, the same kind of model."""

from __future__ import annotations

import shutil

import pytest

from paxcast.service.cli.main import main
from paxcast.service.core.contract import read_card
from paxcast.service.core.history import read_history
from paxcast.service.core.registry import current_version
from paxcast.service.inference.predictor import Predictor
from tests.conftest import write_stations


def test_a_global_champion_is_retrained_as_a_global_model_on_a_pooled_hold_out(global_registry, tmp_path, capsys):
    registry = tmp_path / "models"
    shutil.copytree(global_registry, registry)
    champion = current_version(registry, "stations")
    newer = write_stations(tmp_path / "newer.csv", days=170)  # the same stations, 20 more days
    code = main(
        ["retrain", "--data", str(newer), "--registry", str(registry), "--name", "stations", "--steps", "20", "--force"]
    )
    assert code == 0, capsys.readouterr().err
    record = read_history(registry, "stations")[-1]
    assert record["holdout"]["metric"] == "wape" and record["holdout"]["horizon"] == 7
    assert record["holdout"]["points"] == 6 * 7  # every station's last week, pooled
    assert record["challenger"]["wape"] > 0 and record["champion"]["wape"] > 0
    assert record["challenger"]["settings"]["steps"] == 20
    current = current_version(registry, "stations")
    assert record["decision"] == "promoted" and current != champion
    card = read_card(registry / "stations" / current)
    assert card.is_global and card.covariates == read_card(registry / "stations" / champion).covariates
    assert card.hyperparameters.steps == 20 and card.training.rows == 6 * 170 - 7
    Predictor.load(registry / "stations" / current)


def test_data_of_another_frequency_is_refused_before_training(global_registry, tmp_path, capsys):
    registry = tmp_path / "models"
    shutil.copytree(global_registry, registry)
    monthly = tmp_path / "monthly.csv"
    monthly.write_text(
        "unique_id,ds,y\n" + "".join(f"a,{2000 + m // 12}-{m % 12 + 1:02d}-01,{m + 1}\n" for m in range(60))
    )
    code = main(["retrain", "--data", str(monthly), "--registry", str(registry), "--name", "stations"])
    assert code == 3
    assert "the data is monthly; champion" in capsys.readouterr().err
    assert read_history(registry, "stations") == []


def test_a_general_champion_is_judged_by_mean_mase_as_its_checkpoint_was_picked(
    general_registry, monthly_split, tmp_path, capsys
):
    registry = tmp_path / "models"
    shutil.copytree(general_registry, registry)
    argv = ["retrain", "--data", str(monthly_split[0]), "--registry", str(registry), "--name", "general_monthly"]
    assert main([*argv, "--steps", "20", "--max-regression", "1000"]) == 0, capsys.readouterr().err
    record = read_history(registry, "general_monthly")[-1]
    assert record["holdout"]["metric"] == "mase" and record["holdout"]["horizon"] == 12
    assert 0 < record["challenger"]["mase"] < 10 and 0 < record["champion"]["mase"] < 10
    assert record["challenger"]["wape"] > 0  # recorded beside it
    assert "challenger hold-out mase " in record["reason"] and "%" not in record["reason"].split("(")[0]


def test_a_padded_general_model_is_scored_on_short_histories_as_the_service_pads_them(general_registry):
    import numpy as np

    from paxcast.service.core.request import ForecastRequest
    from paxcast.training.data import Series
    from paxcast.training.retrain.scores import score_global

    version_dir = general_registry / "general_monthly" / current_version(general_registry, "general_monthly")
    predictor = Predictor.load(version_dir)
    # window 36, shortest 24
    rng = np.random.default_rng(0)
    months = lambda n: 100 + 20 * np.sin(np.arange(n) * np.pi / 6) + rng.normal(0, 2, n)  # noqa: E731
    before = [Series("short", "2018-01-01", "MS", months(30)), Series("full", "2016-01-01", "MS", months(40))]
    before.append(Series("too-short", "2019-01-01", "MS", months(20)))
    actual = np.stack([months(12) for _ in before])
    scores = score_global(predictor, before, actual)
    assert scores["series_scored"] == 2 and scores["mase"] > 0
    served = predictor.forecast(
        ForecastRequest.model_validate(
            {"series": [{"id": "s", "history": before[0].y.tolist(), "start": "2018-01-01"}], "horizon": 12}
        )
    )
    alone = score_global(predictor, before[:1], actual[:1])
    assert alone["wape"] == pytest.approx(
        100 * np.abs(served.mean[0] - actual[0]).sum() / np.abs(actual[0]).sum(), rel=1e-5
    )
