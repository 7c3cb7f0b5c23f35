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


HEAD_INPUTS = [{}, {"scaling": "mase", "seasonal_lags": 2, "trend": "drift"}]


@pytest.mark.parametrize("changes", HEAD_INPUTS, ids=["level", "mase-lags-drift"])
def test_untrained_network_is_the_weekly_seasonal_naive(changes):
    history, calendar = inputs(4)
    with torch.no_grad():
        forecast = GlobalForecaster(CONFIG.updated(**changes))(history, calendar)
    expected = history[:, [7, 8, 9, 10, 11, 12, 13, 7, 8, 9]]  # the last week, then its first three days again
    assert forecast.shape == (4, 10)
    torch.testing.assert_close(forecast, expected, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("changes", HEAD_INPUTS, ids=["level", "mase-lags-drift"])
def test_forecasts_scale_with_the_history(changes):
    """Each window is scaled inside the graph, so a trained network forecasts c x history as c x its forecast."""
    config = CONFIG.updated(**changes)
    torch.manual_seed(0)
    model = GlobalForecaster(config)
    torch.nn.init.normal_(model.head[-1].weight)
    torch.nn.init.normal_(model.head[-1].bias)
    history, calendar = inputs(4)
    with torch.no_grad():
        forecast = model(history, calendar)
        assert not torch.allclose(forecast, GlobalForecaster(config)(history, calendar))  # the head is not zero
        for c in (1e-3, 7.0, 1e4):
            torch.testing.assert_close(model(c * history, calendar), c * forecast, rtol=1e-4, atol=1e-4 * c)


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
    values = [np.arange(1000.0), 5000 + np.arange(40.0)]  # each value names its series and its index in it
    timeline = np.arange(1000, dtype=np.float32)[:, None] * [1, -1, 0]  # each row names its timestamp
    sampler = WindowSampler(values, offsets=[0, 960], calendar=timeline, window=14, horizon=10, seed=1)
    history, calendar, target = sampler.sample(2000)
    short = history[:, 0] >= 5000
    assert 0.45 < short.mean() < 0.55
    assert history.shape == (2000, 14) and calendar.shape == (2000, 24, 3) and target.shape == (2000, 10)
    # A window is its first value plus 0..23.
    np.testing.assert_array_equal(history, history[:, :1] + np.arange(14))
    np.testing.assert_array_equal(target, history[:, :1] + np.arange(14, 24))
    # The calendar rows are those of the window's own timestamps: the short series starts at 960.
    start = np.where(short, history[:, 0] - 5000 + 960, history[:, 0])
    np.testing.assert_array_equal(calendar[:, :, 0], start[:, None] + np.arange(24))
    np.testing.assert_array_equal(calendar[:, :, 1], -calendar[:, :, 0])


def test_sampler_skips_histories_with_gaps_and_keeps_nan_targets():
    y = np.arange(40.0)
    y[3] = np.nan  # in the history of the windows starting at 0..3: they are redrawn
    y[30] = np.nan  # in the target of the windows starting at 7..16: they are kept, NaN where it was
    sampler = WindowSampler([y], [0], np.zeros((40, 3), np.float32), window=14, horizon=10, seed=0)
    history, _, target = sampler.sample(300)
    start = history[:, 0].astype(int)  # y[t] = t where observed
    assert not np.isnan(history).any()
    assert set(start) == set(range(4, 17))  # every start without a gap in its history, none with one
    np.testing.assert_array_equal(target, y[start[:, None] + np.arange(14, 24)])  # NaN positions included
    rows, steps = np.nonzero(np.isnan(target))
    assert list(rows) == list(np.flatnonzero(start >= 7)) and list(steps) == list(16 - start[start >= 7])


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
