import json
import re

import numpy as np
import pytest

from paxcast.service.core.contract import sha256_of
from paxcast.service.core.exceptions import InvalidInput, ModelError
from paxcast.service.core.intervals import bounds, conformal_quantile, interval_quantiles
from paxcast.service.core.registry import current_version
from paxcast.service.core.request import ForecastRequest
from paxcast.service.inference.predictor import Predictor
from paxcast.service.inference.unit_level import unit_exponents
from tests.conftest import ROOT


@pytest.fixture
def predictor(registry):
    return Predictor.load(registry / "air_passengers" / current_version(registry, "air_passengers"))


def test_predict_slices_the_horizon(predictor):
    x = predictor.batch(["a", "b"], [list(range(100, 130)), list(range(200, 224))], 4)
    assert x.shape == (2, 24) and x.dtype == np.float32 and x[0, 0] == 106
    assert predictor.predict(x, 4).shape == (2, 4)


def test_a_request_of_another_frequency_is_refused_by_the_predictor_itself(predictor):
    """The rule lives in `Predictor.prepare`, so a backtest or retrain refuses what the HTTP route refuses."""
    body = {"series": [{"id": "air", "history": list(range(100, 136))}], "horizon": 4, "freq": "QS"}
    with pytest.raises(InvalidInput) as refused:
        predictor.forecast(ForecastRequest.model_validate(body))
    assert str(refused.value) == "freq: the series are quarterly; model 'air_passengers' forecasts monthly series"
    assert predictor.forecast(ForecastRequest.model_validate({**body, "freq": "MS"})).mean.shape == (1, 4)


def test_missing_model_fails_naming_the_path(tmp_path):
    with pytest.raises(ModelError, match=str(tmp_path / "nothing" / "model.json")):
        Predictor.load(tmp_path / "nothing")


def test_truncated_model_is_refused_by_onnxruntime(registry):
    version_dir = registry / "air_passengers" / current_version(registry, "air_passengers")
    onnx_file = version_dir / "model.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes()[:200])
    card = json.loads((version_dir / "model.json").read_text())
    (version_dir / "model.json").write_text(
        json.dumps({**card, "onnx_sha256": sha256_of(onnx_file)})
    )  # the hash passes: onnxruntime must refuse
    # loaded from the bytes whose hash was checked: "Failed to load model because protobuf parsing failed"
    refused = (
        rf"^{re.escape(str(onnx_file))}: onnxruntime cannot load it "
        r"\(.*INVALID_PROTOBUF.*protobuf parsing failed.*\)$"
    )
    with pytest.raises(ModelError, match=refused):
        Predictor.load(version_dir)


def test_conformal_quantile_uses_the_finite_sample_rank():
    scores = [0.5, 0.1, 0.3, 0.2, 0.4]  # sorted: .1 .2 .3 .4 .5
    assert conformal_quantile(scores, 0.5) == 0.3  # ceil(6 * .5) = 3rd
    assert conformal_quantile(scores, 0.8) == 0.5  # ceil(6 * .8) = 5th
    assert conformal_quantile(scores, 0.99) == 0.5  # rank past the end: the largest


def test_exponential_tail_widens_only_where_the_scores_are_too_few():
    mean = np.array([[100.0, 200.0]], dtype=np.float32)
    errors = [
        [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.5],
        [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5],
    ]
    lower, upper = bounds(mean, interval_quantiles(errors, 80))  # conformal: the ceil(11 * .8) = 9th score
    np.testing.assert_allclose(upper, [[110.0, 290.0]])
    lower, upper = bounds(mean, interval_quantiles(errors, 95, tail="exponential"))
    # step 1: max(0.5, -ln(.05) * 0.14 = 0.4194) = 0.5; step 2: max(0.5, -ln(.05) * 0.275 = 0.8238)
    np.testing.assert_allclose(upper - mean, [[50.0, 200.0 * -np.log(0.05) * 0.275]], rtol=1e-5)
    np.testing.assert_allclose(mean - lower, upper - mean)
    lower, upper = bounds(mean, interval_quantiles(errors[::-1], 80))  # a later step never gets a narrower quantile
    np.testing.assert_allclose(upper - mean, [[45.0, 200.0 * 0.45]])


def test_levels_need_a_calibrated_model(predictor):
    uncalibrated = Predictor(
        card=predictor.card.model_copy(update={"intervals": None}), session=predictor.session, path=predictor.path
    )
    with pytest.raises(
        InvalidInput,
        match=r"^level: prediction intervals are not available for this model \(it carries no calibration\)$",
    ):
        uncalibrated.check_levels([80])


def test_intervals_are_the_conformal_quantile_times_the_forecast(predictor):
    x = predictor.batch(["a"], [list(range(100, 124))], 4)
    mean = predictor.predict(x, 4)
    lower, upper = bounds(mean, predictor.quantiles(80))
    errors = predictor.card.intervals.relative_errors
    assert predictor.card.intervals.tail == "exponential"
    q = [max(conformal_quantile(errors[h], 0.8), -np.log(0.2) * np.mean(errors[h])) for h in range(4)]
    expected = np.maximum.accumulate(q) * np.abs(mean[0])
    np.testing.assert_allclose(upper[0] - mean[0], expected, rtol=1e-5)
    np.testing.assert_allclose(mean[0] - lower[0], expected, rtol=1e-5)


def test_broken_calibration_is_refused_at_load(registry):
    version_dir = registry / "air_passengers" / current_version(registry, "air_passengers")
    meta = json.loads((version_dir / "model.json").read_text())
    meta["intervals"]["relative_errors"] = meta["intervals"]["relative_errors"][:3]
    (version_dir / "model.json").write_text(json.dumps(meta))
    with pytest.raises(
        ModelError, match=r"/model.json: intervals.relative_errors must hold 12 non-empty lists of scores >= 0$"
    ):
        Predictor.load(version_dir)


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "models").iterdir() if p.is_dir()))
def test_every_shipped_model_forecasts_any_magnitude_in_the_posted_units(name):
    # The graphs scale by the window's level, floored at eps, in float32: unscaled, a history of 1e-12
    # came back at the wrong scale and one of 1e35 overflowed. Rows now enter the graph near unit level.
    predictor = Predictor.load(ROOT / "models" / name / current_version(ROOT / "models", name))
    n, season = predictor.window, predictor.card.season
    history = [100.0 + 30 * np.sin(2 * np.pi * k / season) + k / 10 for k in range(n)]
    start = "2019-01-07T00:00:00" if predictor.card.freq == "h" else "2019-01-01"

    def forecast(factor: float):
        body = {"series": [{"id": "s", "history": [v * factor for v in history], "start": start}], "horizon": 3}
        result = predictor.forecast(ForecastRequest.model_validate({**body, "level": [80]}))
        return result.mean[0] / factor, result.intervals["80"][0][0] / factor

    mean, lower = forecast(1.0)
    for factor in (1e-12, 1e35):
        scaled_mean, scaled_lower = forecast(factor)
        np.testing.assert_allclose(scaled_mean, mean, rtol=1e-5)
        np.testing.assert_allclose(scaled_lower, lower, rtol=1e-5)


def test_unit_exponents_are_the_power_of_two_nearest_the_rows_level():
    x = np.array([[3.0, 5.0, np.nan], [0.0, 0.0, 0.0], [np.nan] * 3, [1e-12, -1e-12, 1e-12]], dtype=np.float32)
    assert unit_exponents(x).tolist() == [2, 0, 0, -40]


def test_an_hourly_start_off_whole_hours_is_refused_as_training_data_would_be():
    name = "melbourne_pedestrian_hourly"
    predictor = Predictor.load(ROOT / "models" / name / current_version(ROOT / "models", name))
    body = {"series": [{"id": "s", "history": [5.0] * predictor.window, "start": "2015-01-05T00:30"}], "horizon": 3}
    with pytest.raises(InvalidInput, match=r"^series 's': start 2015-01-05T00:30:00 is not on the hourly grid"):
        predictor.forecast(ForecastRequest.model_validate(body))


@pytest.mark.parametrize("field, value", [("history", [True, 2.0]), ("history", ["1", 2.0]), ("level", ["80"])])
def test_values_must_be_json_numbers_not_booleans_or_strings(field, value):
    body = {"series": [{"id": "s", "history": [1.0, 2.0]}], "horizon": 1}
    body = body | {"level": value} if field == "level" else {**body, "series": [{"id": "s", "history": value}]}
    with pytest.raises(ValueError, match="Input should be a valid number"):
        ForecastRequest.model_validate_json(json.dumps(body))


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "models").iterdir() if p.is_dir()))
def test_ordinary_rows_give_the_same_bits_through_unit_level(name):
    # the README's claim: a power of two changes no digit of an ordinary row (log graphs are not rescaled)
    from paxcast.service.inference.unit_level import from_unit_level, to_unit_level

    predictor = Predictor.load(ROOT / "models" / name / current_version(ROOT / "models", name))
    if predictor.card.transform == "log":
        pytest.skip("a log graph's rows are posted as they are")
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, 500.0, size=(16, predictor.window)) * rng.choice([0.37, 1.0, 3e6], size=(16, 1))
    x = x.astype(np.float32)
    x[:4, : predictor.window - predictor.card.min_history] = np.nan  # padded rows, where a graph masks
    calendar = None
    if predictor.calendar is not None:
        firsts = np.full(len(x), np.datetime64("2019-01-07T00:00:00"), dtype="datetime64[s]")
        calendar = predictor.calendar.windows(firsts, predictor.window + predictor.horizon)
    exponents = unit_exponents(x)
    assert (exponents != 0).all()  # the rows really are rescaled
    direct = predictor.run_rows(x, calendar)
    rescaled = from_unit_level(predictor.run_rows(to_unit_level(x, exponents), calendar), exponents)
    np.testing.assert_array_equal(rescaled, direct)


def test_a_network_s_series_are_placed_on_the_calendar_once_not_once_each(monkeypatch):
    """Issue 30: prepare and finish cost 10x the model on a whole-network request (0.3 s of calendar rows and
    0.9 s of timestamps for 2,000 hourly series, one datetime per step in Python). Series that share their
    `start` and history length share that work, and the answer is the one they get one at a time."""
    import paxcast.service.inference.predictor as module

    name = "melbourne_pedestrian_hourly"
    predictor = Predictor.load(ROOT / "models" / name / current_version(ROOT / "models", name))
    history = [100.0 + 50 * np.sin(2 * np.pi * k / 24) for k in range(predictor.window)]
    series = [{"id": f"s{k}", "history": history, "start": "2020-01-06T00:00:00"} for k in range(500)]
    series.append({"id": "late", "history": history + history[:5], "start": "2020-01-06T05:00:00"})
    request = ForecastRequest.model_validate({"series": series, "horizon": 24, "level": [80]})
    made = []
    real = module.future_timestamps
    monkeypatch.setattr(module, "future_timestamps", lambda *args: made.append(args) or real(*args))

    prepared = predictor.prepare(request)
    result = predictor.finish(prepared, predictor.run_rows(prepared.x, prepared.calendar))
    assert len(prepared.calendar.distinct) == 2 and len(made) == 2  # two distinct (start, length) pairs

    for row in (0, 499, 500):
        alone = predictor.forecast(ForecastRequest.model_validate({**request.model_dump(), "series": [series[row]]}))
        assert result.timestamps[row] == alone.timestamps[0]
        np.testing.assert_array_equal(result.mean[row], alone.mean[0])
        np.testing.assert_array_equal(result.intervals["80"][1][row], alone.intervals["80"][1][0])
