import numpy as np
import pandas as pd
import pytest
import torch

from paxcast.service.core.contract import read_card
from paxcast.service.core.hyperparameters import TrainConfig
from paxcast.service.core.registry import current_version
from paxcast.training.data import read_series
from paxcast.training.series.selection import inner_backs, inner_validate, pooled_scores
from paxcast.training.series.train import masked_windows

TINY = dict(window=24, horizon=6, season=12, hidden=4, epochs=3, patience=3, ensemble=1)
OFF = "off: it did not beat its no-network baseline on inner validation"


def test_masked_windows_keep_only_targets_inside_the_range():
    y = np.arange(10.0)
    x, target = masked_windows(y, window=3, horizon=4, origins=range(3, 10), first=0, end=8)
    assert x.shape == (5, 3)  # origins 8 and 9 have no target before 8
    assert x[0].tolist() == [0, 1, 2] and target[0].tolist() == [3, 4, 5, 6]
    assert np.isnan(target[-1, 1:]).all() and target[-1, 0] == 7
    x, target = masked_windows(y, window=3, horizon=4, origins=range(3, 10), first=8, end=10)
    assert (
        x[0].tolist() == [2, 3, 4] and np.isnan(target[0, :3]).all() and target[0, 3] == 8
    )  # origin 5 first reaches 8


def test_pooled_scores_borrow_from_neighbouring_steps():
    errors = [[0.1] * 5, [0.2] * 3, [0.3]]
    pooled = pooled_scores(errors, minimum=4)
    assert pooled[0] == [0.1] * 5  # enough of its own
    assert sorted(pooled[1]) == [0.1] * 5 + [0.2] * 3 + [0.3]  # radius 1
    assert sorted(pooled[2]) == [0.2] * 3 + [0.3]  # radius 1: only the step before exists


def test_inner_validation_forecasts_from_every_point_after_each_inner_origin(air_csv):
    series = read_series(air_csv)
    config = TrainConfig(**TINY)
    assert inner_backs(series, config, 3) == [12, 24, 36]
    result = inner_validate(series, config)
    assert result.origins == [132, 120, 108]
    # step 1 is reached from all 12 + 24 + 36 origins, step 6 from 7 + 19 + 31
    assert len(result.relative_errors[0]) == 72 and len(result.relative_errors[5]) == 57
    assert len(result.baseline_relative_errors[5]) == 57
    assert np.isfinite(result.mape) and np.isfinite(result.baseline_mape)


def test_too_short_data_has_no_inner_origins(air_csv):
    series = read_series(air_csv)
    config = TrainConfig(**{**TINY, "window": 120})
    assert inner_backs(series, config, 3) == []


def test_calibration_and_selection_are_stored_in_model_json(tiny_registry):
    version = current_version(tiny_registry, "air_passengers")
    card = read_card(tiny_registry / "air_passengers" / version)
    errors = card.intervals.relative_errors
    assert len(errors) == card.horizon == 12
    assert all(len(step) >= 20 and min(step) >= 0 for step in errors)
    assert card.intervals.inner_origins == [132, 120, 108]
    chosen = card.selection.chosen
    assert chosen.window == 24 and chosen.mape > 0 and chosen.baseline_mape > 0
    # the guard's verdict is the inner comparison's: on exactly when the network beat its baseline there
    network_on = chosen.mape < chosen.baseline_mape
    assert card.selection.network == ("on" if network_on else OFF)
    assert card.intervals.network_on is network_on


@pytest.mark.parametrize("margin, network", [(+1.0, OFF), (-1.0, "on")], ids=["loses", "wins"])
def test_the_guard_switches_the_network_off_exactly_when_it_loses_to_its_baseline(
    air_csv, tmp_path, monkeypatch, margin, network
):
    from paxcast.training.evaluate import onnx_forecast
    from paxcast.training.series import pipeline
    from paxcast.training.series.model import Forecaster

    real = pipeline.inner_validate

    def scored(series, config, backs=None, log=None):  # inner validation says the network loses (or wins) by one point
        result = real(series, config, backs)
        result.mape = result.baseline_mape + margin
        return result

    monkeypatch.setattr(pipeline, "inner_validate", scored)
    series = read_series(air_csv)
    config = TrainConfig(**TINY)
    fitted = pipeline.fit(series, config, tmp_path, show_progress=False)
    assert fitted.selection.network == network
    history = series[0].y[-24:][None]
    baseline = Forecaster(config).eval().baseline_forecast(torch.tensor(history, dtype=torch.float32)).numpy()
    inner = pipeline.inner_validate(series, config)
    if network == OFF:  # the served graph is the baseline, and so are the interval scores
        np.testing.assert_allclose(onnx_forecast(fitted.onnx_path, history), baseline, rtol=1e-5)
        assert fitted.intervals.relative_errors == pooled_scores(inner.baseline_relative_errors)
    else:
        assert not np.allclose(onnx_forecast(fitted.onnx_path, history), baseline, rtol=1e-5)
        assert fitted.intervals.relative_errors == pooled_scores(inner.relative_errors)


def test_steps_no_inner_forecast_reaches_grow_with_the_lead_time():
    pooled = pooled_scores([[0.1, 0.2], [0.3], [], []], minimum=2)
    assert pooled[1] == [0.1, 0.2, 0.3]
    assert pooled[3] == pytest.approx([e * np.sqrt(4 / 2) for e in pooled[1]], abs=1e-6)  # scores keep 6 decimals


def test_inner_origins_cut_at_most_a_quarter_of_the_data(air_csv):
    series = [s.__class__(s.id, s.start, s.freq, s.y[:108]) for s in read_series(air_csv)]
    assert inner_backs(series, TrainConfig(**{**TINY, "window": 36, "horizon": 36}), 3) == [12, 24]


def test_candidate_designs_follow_the_flags_and_the_data(air_csv):
    from paxcast.training.series.designs import candidate_designs, resolve_config

    series = read_series(air_csv)
    designs = candidate_designs(series, resolve_config(series, horizon=12), explicit={"horizon"})
    assert [(d.window, d.transform, d.augment) for d in designs] == [(36, "log", 0.03), (36, "log", 0.05)]
    fixed = candidate_designs(
        series,
        resolve_config(series, horizon=12, transform="none", window=24),
        explicit={"horizon", "transform", "window"},
    )
    assert [(d.window, d.transform, d.augment) for d in fixed] == [(24, "none", 0.03), (24, "none", 0.05)]
    with_zero = [s.__class__(s.id, s.start, s.freq, np.concatenate([[0.0], s.y[1:]])) for s in series]
    fallback = candidate_designs(with_zero, resolve_config(with_zero, horizon=12), explicit={"horizon"})
    assert [(d.window, d.transform, d.augment) for d in fallback] == [(36, "none", 0.03)]


def test_a_zero_late_in_the_series_ranks_designs_by_wape_and_the_card_round_trips(air_csv, tmp_path):
    from paxcast.service.core.request import ForecastRequest
    from paxcast.service.inference.predictor import Predictor
    from paxcast.training.pipeline import train_and_register
    from paxcast.training.series.selection import describe, inner_summary

    frame = pd.read_csv(air_csv)
    frame.loc[len(frame) - 5, "y"] = 0  # a closure inside the last inner origin's forecasts
    data = tmp_path / "zero.csv"
    frame.to_csv(data, index=False)
    result = inner_validate(read_series(data), TrainConfig(**TINY))
    assert np.isnan(result.mape) and result.metric == "wape"
    assert result.score == result.wape and np.isfinite(result.wape) and np.isfinite(result.baseline_wape)
    assert result.beats_baseline is (result.wape < result.baseline_wape)
    candidate = describe(result)
    assert candidate.mape is None and candidate.wape == round(result.wape, 4)
    assert inner_summary(candidate.model_dump()).startswith("inner WAPE ")

    version, _ = train_and_register(data, tmp_path / "registry", "zero", show_progress=False, **TINY)
    card = read_card(tmp_path / "registry" / "zero" / version)  # a card with a None MAPE reads back
    assert card.selection.chosen.mape is None and card.selection.chosen.wape > 0
    assert "WAPE" in card.selection.method
    # a zero in the data: bands scale with each window's seasonal-naive spread, not with a forecast that may
    # reach zero, and count data keeps them (and the forecast) at >= 0
    assert card.intervals.scale == "mase" and card.intervals.floor == 0.0
    predictor = Predictor.load(tmp_path / "registry" / "zero" / version)
    history = frame["y"].tolist()[-24:]
    history[-6:] = [0.0] * 6
    body = {"series": [{"id": "closed", "history": history}], "horizon": 6, "level": [80]}
    result = predictor.forecast(ForecastRequest.model_validate(body))
    lower, upper = result.intervals["80"]
    assert (lower >= 0).all() and (result.mean >= 0).all() and (upper - lower > 0).all()
    assert np.isfinite(upper).all() and upper.max() < 10 * max(history)


def test_actuals_at_or_below_zero_rank_by_wape_even_where_mape_is_finite():
    from paxcast.training.series.selection import InnerResult

    crossing = InnerResult(TrainConfig(**TINY), mape=109.0, baseline_mape=120.0, wape=50.0, baseline_wape=49.0)
    assert crossing.metric == "mape" and crossing.beats_baseline  # all actuals positive: MAPE decides
    crossing.positive = False  # a series crossing zero: MAPE is dominated by the values near it
    assert crossing.metric == "wape" and crossing.score == 50.0 and not crossing.beats_baseline
