import numpy as np
import pytest

from paxcast.training import metrics


def test_metrics_against_hand_computed_values():
    actual = np.array([100.0, 200.0, 400.0])
    forecast = np.array([110.0, 180.0, 400.0])
    # |errors| = 10, 20, 0 ; relative = .1, .1, 0
    assert metrics.mape(actual, forecast) == pytest.approx(100 * 0.2 / 3)
    assert metrics.smape(actual, forecast) == pytest.approx(100 * (20 / 210 + 40 / 380 + 0) / 3)
    assert metrics.rmse(actual, forecast) == pytest.approx(np.sqrt((100 + 400 + 0) / 3))
    train = np.array([1.0, 2.0, 4.0, 7.0])  # season 2: |4-1| = 3, |7-2| = 5 -> scale 4
    assert metrics.seasonal_scale(train, 2) == 4.0
    assert metrics.mase(actual, forecast, train, 2) == pytest.approx(10.0 / 4.0)


def test_coverage_and_width():
    actual = np.array([10.0, 20.0, 30.0, 40.0])
    lower = np.array([9.0, 21.0, 25.0, 40.0])
    upper = np.array([11.0, 25.0, 35.0, 44.0])
    assert metrics.coverage(actual, lower, upper) == 75.0  # 20 is below its lower bound; 40 sits on one
    assert metrics.mean_width(actual, lower, upper) == pytest.approx(100 * (2 / 10 + 4 / 20 + 10 / 30 + 4 / 40) / 4)
