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
    assert metrics.mase_scale(train, 2) == 4.0
    assert metrics.mase(actual, forecast, train, 2) == pytest.approx(10.0 / 4.0)


def test_coverage_and_width():
    actual = np.array([10.0, 20.0, 30.0, 40.0])
    lower = np.array([9.0, 21.0, 25.0, 40.0])
    upper = np.array([11.0, 25.0, 35.0, 44.0])
    assert metrics.coverage(actual, lower, upper) == 75.0  # 20 is below its lower bound; 40 sits on one
    assert metrics.mean_width(actual, lower, upper) == pytest.approx(100 * (2 / 10 + 4 / 20 + 10 / 30 + 4 / 40) / 4)


def test_every_metric_takes_the_actual_first():
    """One argument order: swapping actual and forecast changes WAPE, MAPE and mean MASE, so a caller that
    passes them the other way round gets another number."""
    actual, forecast = np.array([[10.0, 20.0]]), np.array([[12.0, 30.0]])
    assert metrics.wape(actual, forecast) == pytest.approx(100 * 12 / 30)
    assert metrics.mape(actual, forecast) == pytest.approx(100 * (0.2 + 0.5) / 2)
    history = np.array([[1.0, 3.0, 2.0, 6.0]])  # season 2: |2-1|, |6-3| -> scale 2
    assert metrics.mean_mase(actual, forecast, history, 2) == pytest.approx(6.0 / 2)


def test_mape_is_undefined_with_a_zero_actual_and_the_backtest_score_skips_zeros():
    actual, forecast = np.array([[0.0, 10.0, np.nan]]), np.array([[5.0, 12.0, 1.0]])
    assert np.isnan(metrics.mape(actual, forecast))  # per-series selection switches to WAPE on it
    scored = metrics.score(actual, forecast, np.array([1.0]))
    assert scored["mape"] == pytest.approx(20.0)  # the tourism competition's headline: nonzero actuals only
    assert scored["wape"] == pytest.approx(100 * 7 / 10) and scored["points"] == 2
    assert metrics.score(np.zeros((1, 2)), np.ones((1, 2)), np.array([1.0]))["mape"] is None
