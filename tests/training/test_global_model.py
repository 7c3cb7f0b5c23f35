import numpy as np
import pytest
import torch

from paxcast.service.core.hyperparameters import GlobalTrainConfig
from paxcast.training.export import export_onnx, parity
from paxcast.training.network.model import GlobalForecaster, WindowSampler

CONFIG = GlobalTrainConfig(window=14, horizon=10, season=7, features=3, hidden=8)


def inputs(batch, config=CONFIG, seed=0):
    g = torch.Generator().manual_seed(seed)
    history = torch.rand(batch, config.window, generator=g) * 1000
    calendar = torch.rand(batch, config.window + config.horizon, config.features, generator=g)
    return history, calendar


def test_untrained_network_is_the_weekly_seasonal_naive():
    history, calendar = inputs(4)
    with torch.no_grad():
        forecast = GlobalForecaster(CONFIG)(history, calendar)
    last_week = history[:, -7:]
    expected = torch.cat([last_week, last_week[:, :3]], dim=1)
    assert forecast.shape == (4, 10)
    assert torch.allclose(forecast, expected, rtol=1e-5)


def test_zeros_in_history_are_allowed_and_an_all_zero_window_forecasts_zero():
    history, calendar = inputs(2)
    history[0] = 0
    history[1, ::2] = 0
    with torch.no_grad():
        forecast = GlobalForecaster(CONFIG)(history, calendar)
    assert torch.isfinite(forecast).all() and (forecast[0] == 0).all()


def test_the_horizons_calendar_reaches_the_forecast():
    model = GlobalForecaster(CONFIG)
    torch.nn.init.normal_(model.head[-1].weight)
    history, calendar = inputs(1)
    changed = calendar.clone()
    changed[0, -1] += 1  # covariates of the last horizon step only
    with torch.no_grad():
        delta = model(history, changed) - model(history, calendar)
    assert delta[0, -1].abs() > 0 and torch.all(delta[0, :-1] == 0)


def test_sampler_draws_series_uniformly_whatever_their_length():
    values = [np.arange(1000.0), np.arange(40.0)]
    sampler = WindowSampler(
        values, offsets=[0, 960], calendar=np.zeros((1000, 3), np.float32), window=14, horizon=10, seed=1
    )
    history, calendar, target = sampler.sample(2000)
    short = history[:, 0] < 40  # every window of the short series starts below 40
    assert 0.45 < short.mean() < 0.55
    assert history.shape == (2000, 14) and calendar.shape == (2000, 24, 3) and target.shape == (2000, 10)
    assert np.array_equal(target[:, 0], history[:, -1] + 1)


def test_sampler_skips_histories_with_gaps_and_keeps_nan_targets():
    y = np.arange(30.0)
    y[5] = np.nan
    sampler = WindowSampler([y], [0], np.zeros((30, 3), np.float32), window=14, horizon=10, seed=0)
    history, _, _ = sampler.sample(50)
    assert not np.isnan(history).any()


def test_onnx_graph_has_both_inputs_a_dynamic_batch_and_matches_torch(tmp_path):
    model = GlobalForecaster(CONFIG)
    torch.nn.init.normal_(model.head[-1].weight, std=0.1)
    path = export_onnx(model, tmp_path / "global.onnx", model.config)
    for batch in (1, 5):
        history, calendar = (t.numpy() for t in inputs(batch, seed=batch))
        assert parity(model, path, history, calendar) < 1e-4


def test_window_shorter_than_the_season_is_refused():
    with pytest.raises(ValueError, match=r"window \(5\) must be at least the season \(7\)"):
        GlobalTrainConfig(window=5, horizon=3, season=7, features=0)
