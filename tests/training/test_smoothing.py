"""Local forecasts as fixed linear maps (`training.network.smoothing`) and the graph that weighs them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paxcast.service.core.hyperparameters import GlobalTrainConfig
from paxcast.training.network.model import GlobalForecaster
from paxcast.training.network.smoothing import (
    METHODS,
    Smoothing,
    holt_winters,
    local_weights,
    seasonal_line,
    window_maps,
)

QUARTERS = dict(window=24, horizon=8, season=4, min_history=8, seasonal_lags=2, hidden=8, features=2)
LOCAL = GlobalTrainConfig(**QUARTERS, scaling="mase", local_forecasts=True)


def holt_winters_by_the_book(y: np.ndarray, horizon: int, m: int, method: Smoothing) -> np.ndarray:
    """The textbook recursion on one series, one value at a time, for the maps to agree with."""
    a, b, g, phi = method
    level = y[:m].mean()
    trend = (y[m : 2 * m].mean() - level) / m
    season = list(y[:m] - level)
    for t in range(m, len(y)):
        last_level, last_trend = level, trend
        level = a * (y[t] - season[t - m]) + (1 - a) * (last_level + phi * last_trend)
        trend = b * (level - last_level) + (1 - b) * phi * last_trend
        season.append(g * (y[t] - last_level - phi * last_trend) + (1 - g) * season[t - m])
    return np.array(
        [level + sum(phi**j for j in range(1, h + 2)) * trend + season[len(y) - m + h % m] for h in range(horizon)]
    )


@pytest.mark.parametrize("method", METHODS)
def test_each_map_is_the_holt_winters_recursion_and_keeps_a_constant(method):
    y = np.random.default_rng(0).normal(100, 10, 24)
    weights = local_weights(24, 8, 4)[METHODS.index(method)]
    np.testing.assert_allclose(weights @ y, holt_winters_by_the_book(y, 8, 4, method), rtol=1e-5)
    np.testing.assert_allclose(holt_winters(y[:, None], 8, 4, method)[:, 0], weights @ y, rtol=1e-5)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)  # commutes with centring and scaling


def test_the_seasonal_line_continues_a_steady_trend_with_a_fixed_season_exactly():
    t = np.arange(72 + 24)
    y = 500 + 1.5 * t + 40 * np.sin(t * np.pi / 6)
    np.testing.assert_allclose(seasonal_line(72, 24, 12) @ y[:72], y[72:], rtol=1e-9)
    flat = seasonal_line(6, 4, 4)  # under two seasons: the offsets alone, no line
    np.testing.assert_allclose(flat.sum(axis=1), 1.0)


def test_untrained_the_graph_is_seasonal_naive_and_trained_it_can_take_the_line_outright_padded_or_not():
    model = GlobalForecaster(LOCAL).eval()
    t = np.arange(32, dtype=np.float32)
    line = 1000 + 3 * t + 50 * np.sin(t * np.pi / 2)
    history = torch.from_numpy(np.stack([line[:24], line[:24]]))
    history[1, :10] = float("nan")  # padded: 14 observed values, the methods fit those alone
    with torch.no_grad():
        out = model(history, torch.zeros(2, 32, 2)).numpy()
        np.testing.assert_allclose(out, np.nan_to_num(history.numpy())[:, [20, 21, 22, 23] * 2], rtol=1e-6)
        # A head whose only output is weight 1 on the line method forecasts the line, to the float.
        model.head[-1].bias[len(METHODS) + 1] = 1.0
        out = model(history, torch.zeros(2, 32, 2)).numpy()
    np.testing.assert_allclose(out, np.stack([line[24:], line[24:]]), rtol=1e-5)


def test_the_head_reads_every_methods_error_on_the_windows_last_values_and_padding_weighs_nothing():
    model = GlobalForecaster(LOCAL).eval()
    t = np.arange(24, dtype=np.float32)
    x = torch.from_numpy(np.stack([0.5 * t + np.sin(t * np.pi / 2)] * 3))
    x[1, :6] = 0.0  # 18 observed: scored on the last 8 still (18 - 8 leaves two seasons)
    x[2, :12] = 0.0  # 12 observed: scored on the last 4 (two seasons stay to fit)
    count = torch.tensor([[24.0], [18.0], [12.0]])
    differences, facts = model.local(x, x[:, model.lag_index], count)
    assert differences.shape == (3, 8, len(METHODS) + 1) and facts.shape == (3, 8, len(METHODS) + 3)
    facts = facts[:, 0].numpy()  # the share scored, seasonal naive's error, then each method's
    np.testing.assert_allclose(facts[:, 0], [1.0, 1.0, 0.5])
    # Seasonal naive repeats the last season before the scored values: it misses one year's trend (4 x 0.5),
    # then two, over a block of two seasons; one, over a block of one.
    np.testing.assert_allclose(facts[:, 1], [3.0, 3.0, 2.0], rtol=1e-5)
    np.testing.assert_allclose(facts[:, -1], 0.0, atol=1e-4)  # the line is exact, whatever the padding held


def test_each_length_reads_its_observed_values_only():
    ahead, behind, scored_steps = window_maps(window=24, shortest=8, horizon=8, season=4)
    for n in (8, 13, 24):
        np.testing.assert_array_equal(ahead[n - 8, :, :, : 24 - n], 0.0)  # the padding
        np.testing.assert_allclose(ahead[n - 8, :, :, 24 - n :], local_weights(n, 8, 4))
    assert scored_steps[0].sum() == 0 and scored_steps[13 - 8].sum() == 5 and scored_steps[-1].sum() == 8


def test_local_forecasts_need_mase_scaling_and_two_seasons_to_fit():
    with pytest.raises(ValueError, match="local_forecasts needs scaling 'mase'"):
        GlobalTrainConfig(**QUARTERS, local_forecasts=True)
    with pytest.raises(ValueError, match="over two seasons"):
        GlobalTrainConfig(**{**QUARTERS, "window": 8}, scaling="mase", local_forecasts=True)
