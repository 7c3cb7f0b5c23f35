"""A general monthly model served beside a per-series one: short histories padded, `freq` routes POST /v1/forecast."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from fastapi.testclient import TestClient

from paxcast.service.api.app import create_app
from paxcast.service.core.intervals import SPREAD_FLOOR, interval_quantiles
from paxcast.service.core.registry import current_version
from paxcast.service.core.request import ForecastRequest
from paxcast.service.core.settings import Settings
from paxcast.service.inference.predictor import Predictor
from tests.conftest import ROOT

MONTHS = [100.0 + 30 * np.sin(np.pi * k / 6) for k in range(24)]  # two years: shorter than the 36-month window


@pytest.fixture(scope="module")
def both(general_registry, tiny_registry, tmp_path_factory):
    root = tmp_path_factory.mktemp("both")
    shutil.copytree(general_registry, root, dirs_exist_ok=True)
    shutil.copytree(tiny_registry, root, dirs_exist_ok=True)
    settings = Settings(model_dir=root, model_name="air_passengers", reload_interval=0)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_a_history_shorter_than_the_window_is_padded_not_refused(general_registry):
    predictor = Predictor.load(
        general_registry / "general_monthly" / current_version(general_registry, "general_monthly")
    )
    assert predictor.card.min_history == 24 < predictor.window == 36
    short = ForecastRequest.model_validate(
        {"series": [{"id": "two-years", "history": MONTHS, "start": "2018-01-01"}], "horizon": 12, "level": [80]}
    )
    result = predictor.forecast(short)
    assert np.isfinite(result.mean).all() and result.timestamps[0][0] == "2020-01-01"
    lower, upper = result.intervals["80"]
    assert (lower <= result.mean).all() and (result.mean <= upper).all()
    # The padded request and the same values with 12 more months before them differ only through those months.
    longer = ForecastRequest.model_validate(
        {"series": [{"id": "three-years", "history": MONTHS[:12] + MONTHS, "start": "2017-01-01"}], "horizon": 12}
    )
    assert np.isfinite(predictor.forecast(longer).mean).all()


def test_a_history_below_the_minimum_names_the_series_and_the_minimum(both):
    body = {"series": [{"id": "new-line", "history": MONTHS[:20], "start": "2019-01-01"}], "horizon": 6}
    response = both.post("/v1/models/general_monthly/forecast", json=body)
    assert response.status_code == 422
    assert response.json()["detail"] == "series 'new-line': history has 20 values, the model needs at least 24"


def test_freq_routes_the_default_endpoint_to_the_general_model(both):
    series = [{"id": "hotel-nights", "history": MONTHS, "start": "2018-01-01"}]
    routed = both.post("/v1/forecast", json={"series": series, "horizon": 12, "freq": "MS"})
    assert routed.status_code == 200, routed.text
    assert routed.json()["model"]["name"] == "general_monthly"
    plain = both.post("/v1/forecast", json={"series": [{"id": "air", "history": MONTHS + MONTHS}], "horizon": 12})
    assert plain.json()["model"]["name"] == "air_passengers"  # no freq: PAXCAST_MODEL_NAME, as before
    summary = {m["name"]: m for m in both.get("/v1/models").json()}
    assert summary["general_monthly"]["min_history"] == 24 and summary["air_passengers"]["min_history"] == 24


@pytest.mark.parametrize(
    ("path", "freq", "detail"),
    [
        ("/v1/forecast", "QS", "freq 'QS': no model is served for quarterly series here"),
        ("/v1/models/general_monthly/forecast", "QS", "freq: the series are quarterly; model 'general_monthly'"),
        ("/v1/forecast", "fortnightly", "freq"),
    ],
    ids=["unmapped", "mismatch", "unknown"],
)
def test_a_freq_no_served_model_answers_gets_a_422(both, path, freq, detail):
    body = {"series": [{"id": "x", "history": MONTHS, "start": "2018-01-01"}], "horizon": 4, "freq": freq}
    response = both.post(path, json=body)
    assert response.status_code == 422
    assert detail in response.text


def test_bands_scale_with_each_series_own_seasonal_naive_error_not_its_level(general_registry):
    predictor = Predictor.load(
        general_registry / "general_monthly" / current_version(general_registry, "general_monthly")
    )
    assert predictor.card.intervals.scale == "mase"  # a MASE-trained general model
    rng = np.random.default_rng(0)
    seasonal = np.array(MONTHS[:12] * 3)
    noise = rng.normal(0, 1, 36)
    series = [  # the same level and season; the second's year-on-year changes are 10x the first's
        {"id": "smooth", "history": (seasonal + noise).tolist(), "start": "2018-01-01"},
        {"id": "noisy", "history": (seasonal + 10 * noise).tolist(), "start": "2018-01-01"},
    ]
    result = predictor.forecast(ForecastRequest.model_validate({"series": series, "horizon": 12, "level": [80]}))
    lower, upper = result.intervals["80"]
    width = (upper - lower).mean(axis=1)
    assert width[1] / width[0] == pytest.approx(10, rel=1e-3)


def test_a_constant_series_gets_a_band_scaled_by_the_graphs_floor_not_a_zero_width_one(general_registry):
    predictor = Predictor.load(
        general_registry / "general_monthly" / current_version(general_registry, "general_monthly")
    )
    flat = {"series": [{"id": "flat", "history": [500.0] * 36, "start": "2018-01-01"}], "horizon": 12, "level": [80]}
    result = predictor.forecast(ForecastRequest.model_validate(flat))
    lower, upper = result.intervals["80"]
    # No seasonal-naive error in the window: the band scales with 1e-3 x the level, as the graph's spread does.
    card = predictor.card.intervals
    quantiles = interval_quantiles(card.relative_errors[:12], 80, card.tail, card.monotone)
    np.testing.assert_allclose(upper - lower, 2 * quantiles[None] * SPREAD_FLOOR * 500, rtol=1e-3)
    assert (lower < result.mean).all() and (result.mean < upper).all()


def test_the_shipped_general_models_answer_posted_monthly_and_quarterly_series_they_never_saw(air_history, tmp_path):
    """`make serve`'s registry: `freq` routes to the shipped general models, and the monthly one forecasts the air
    passengers hold-out (1958-1960) zero-shot better than seasonal naive (bench.accuracy.general_unseen scores it
    fully)."""
    # the store in tmp_path: its default, models/.store/, would be left in the repo's registry
    settings = Settings(model_dir=ROOT / "models", reload_interval=0, store=f"sqlite:///{tmp_path / 'store.sqlite'}")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        cards = {m["name"]: m for m in client.get("/v1/models").json()}
        assert {"general_monthly", "general_quarterly"} <= {n for n, m in cards.items() if m["status"] == "ready"}
        history, actual = air_history[:108], np.array(air_history[108:144])
        body = {"series": [{"id": "air", "history": history, "start": "1949-01-01"}], "horizon": 24, "level": [80]}
        monthly = client.post("/v1/forecast", json={**body, "freq": "MS"})
        quarters = [sum(history[k : k + 3]) for k in range(0, 108, 3)]
        quarterly = client.post(
            "/v1/forecast",
            json={"series": [{"id": "air-q", "history": quarters, "start": "1949-01-01"}], "horizon": 8, "freq": "QS"},
        )
    assert monthly.status_code == 200 and quarterly.status_code == 200, (monthly.text, quarterly.text)
    assert monthly.json()["model"]["name"] == "general_monthly"
    assert quarterly.json()["model"]["name"] == "general_quarterly"
    assert quarterly.json()["forecasts"][0]["timestamps"][0] == "1958-01-01"
    forecast = np.array(monthly.json()["forecasts"][0]["mean"])
    seasonal_naive = np.tile(history[-12:], 2)
    assert np.abs(forecast - actual[:24]).mean() < np.abs(seasonal_naive - actual[:24]).mean()


@pytest.mark.parametrize("name", ["general_monthly", "general_quarterly"])
def test_a_model_without_holidays_forecasts_a_history_from_before_1900(name):
    """Issue 33: a history from 1850 was refused ('must fall in 1900-2199') by models that read no holiday
    table; only holidays bind a calendar to those years. The year columns are what 1850's dates give."""
    predictor = Predictor.load(ROOT / "models" / name / current_version(ROOT / "models", name))
    step = 3 if predictor.card.freq == "QS" else 1
    body = {"series": [{"id": "old", "history": MONTHS * 2, "start": "1850-01-01"}], "horizon": 2}
    old = predictor.forecast(ForecastRequest.model_validate(body))
    assert old.timestamps[0][0] == f"{1850 + 48 * step // 12}-01-01"  # 48 steps after 1850-01-01
    recent = {**body, "series": [{**body["series"][0], "start": "2010-01-01"}]}
    recent = predictor.forecast(ForecastRequest.model_validate(recent))
    np.testing.assert_allclose(old.mean, recent.mean, rtol=1e-5)  # 160 years apart, the same months of the year
