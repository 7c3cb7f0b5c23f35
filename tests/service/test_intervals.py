import numpy as np


def test_intervals_hold_the_mean_and_widen_with_the_level(client, air_history):
    body = {
        "series": [
            {"id": "air", "history": air_history[-24:]},
            {"id": "small", "history": [v / 10 for v in air_history[-24:]]},
        ],
        "horizon": 12,
        "level": [95, 80],
    }
    response = client.post("/v1/forecast", json=body)
    assert response.status_code == 200
    for forecast in response.json()["forecasts"]:
        mean = np.array(forecast["mean"])
        assert sorted(forecast["intervals"]) == ["80", "95"]
        bounds = {label: (np.array(b["lower"]), np.array(b["upper"])) for label, b in forecast["intervals"].items()}
        for lower, upper in bounds.values():
            assert lower.shape == upper.shape == mean.shape == (12,)
            assert (lower <= mean).all() and (mean <= upper).all()
        width80 = bounds["80"][1] - bounds["80"][0]
        width95 = bounds["95"][1] - bounds["95"][0]
        assert (width95 >= width80).all() and (width95 > width80).any()
        assert (width80 > 0).all()


def test_intervals_scale_with_the_series(client, air_history):
    body = {
        "series": [
            {"id": "air", "history": air_history[-24:]},
            {"id": "tenth", "history": [v / 10 for v in air_history[-24:]]},
        ],
        "horizon": 6,
        "level": [80],
    }
    air, tenth = client.post("/v1/forecast", json=body).json()["forecasts"]
    np.testing.assert_allclose(
        np.array(tenth["intervals"]["80"]["upper"]) * 10, air["intervals"]["80"]["upper"], rtol=1e-3
    )


def test_model_without_calibration_refuses_levels(make_client, registry, air_history):
    import json

    from paxcast.service.core.registry import current_version

    meta_path = registry / "air_passengers" / current_version(registry, "air_passengers") / "model.json"
    meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), "intervals": None}))
    client = make_client()
    response = client.post(
        "/v1/forecast", json={"series": [{"id": "air", "history": air_history}], "horizon": 3, "level": [80]}
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": "level: prediction intervals are not available for this model (it carries no calibration)"
    }
    assert (
        client.post("/v1/forecast", json={"series": [{"id": "air", "history": air_history}], "horizon": 3}).status_code
        == 200
    )


def test_the_shipped_model_serves_calibrated_intervals(air_history):
    from pathlib import Path

    from paxcast.service.core.registry import current_version
    from paxcast.service.inference.predictor import Predictor

    models = Path(__file__).resolve().parents[2] / "models"
    predictor = Predictor.load(models / "air_passengers" / current_version(models, "air_passengers"))
    assert predictor.card.selection.network == "on" and predictor.card.intervals.tail == "exponential"
    x = predictor.batch(["air"], [air_history], 36)
    mean = predictor.predict(x, 36)
    from paxcast.service.core.request import ForecastRequest

    result = predictor.forecast(
        ForecastRequest(series=[{"id": "air", "history": air_history}], horizon=36, level=[95, 80])
    )
    np.testing.assert_array_equal(result.mean, mean)
    bounds = result.intervals
    assert list(bounds) == ["80", "95"]
    (lo80, hi80), (lo95, hi95) = bounds["80"], bounds["95"]
    assert (lo95 <= lo80).all() and (lo80 < mean).all() and (mean < hi80).all() and (hi80 <= hi95).all()
    width = (hi80 - lo80) / mean
    assert width[0, -1] > width[0, 0]  # three years out is less certain than next month


def test_a_calibration_that_is_not_monotone_keeps_each_steps_own_quantile():
    """An hourly global model: night steps stay narrower than the peak before them."""
    from paxcast.service.core.intervals import interval_quantiles

    night_after_peak = [[1.0] * 50, [6.0] * 50, [0.2] * 50]
    np.testing.assert_allclose(interval_quantiles(night_after_peak, 80, monotone=False), [1.0, 6.0, 0.2])
    np.testing.assert_allclose(interval_quantiles(night_after_peak, 80), [1.0, 6.0, 6.0])
