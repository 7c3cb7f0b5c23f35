"""`paxcast retrain --store URL --if-degraded`: retrain only when the champion's live WAPE (service/store/scoring.py,
the accuracy route's numbers) is worse than its validation error by the margin, or worse than live seasonal naive.

The hand-worked store: air_passengers' actuals (1949-1960) and one logged forecast from origin 1959-12 of the
champion for each month of 1960, each `(1 + error)` times the actual, so live WAPE is exactly `error`. Seasonal
naive for 1960 is 1959 (season 12): sum |y1960 - y1959| = 574 over sum y1960 = 5714, naive WAPE 10.045 %. The
champion's card is set to validation MAPE 5 % (a per-series card carries no WAPE): with the default margin of 50 %
the threshold is 7.5 %. A 28-day window holds at most one monthly point, so the tests look back 400 days.
"""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest

from paxcast.service.cli.main import main
from paxcast.service.core.contract import CARD_FILE
from paxcast.service.core.history import read_history
from paxcast.service.core.registry import current_version
from paxcast.service.store.engine import open_store
from paxcast.training.retrain.degraded import EXIT_NOT_JUDGED, live_verdict
from tests.store.logged import log_forecast

NAME = "air_passengers"
NAIVE_WAPE_PCT = 100 * 574 / 5714


def actuals_of(air_csv) -> dict[dt.datetime, float]:
    with open(air_csv, newline="") as handle:
        return {dt.datetime.fromisoformat(r["ds"]): float(r["y"]) for r in csv.DictReader(handle)}


def set_validation_mape(registry, mape: float) -> str:
    """The champion's card with validation MAPE `mape` (%); its version. Only model.onnx is hashed."""
    version = current_version(registry, NAME)
    path = registry / NAME / version / CARD_FILE
    card = json.loads(path.read_text())
    card["validation"]["mape"] = mape
    path.write_text(json.dumps(card))
    return version


def fill_store(url: str, air_csv, version: str, error: float, months: int = 12) -> None:
    """Every actual, and the champion's forecast of the first `months` months of 1960 at `(1 + error)` x actual."""
    assert main(["actuals", "load", str(air_csv), "--store", url]) == 0
    y = actuals_of(air_csv)
    engine = open_store(url)
    origin = dt.datetime(1959, 12, 1)
    for step in range(1, months + 1):
        ds = dt.datetime(1960, step, 1)
        log_forecast(engine, NAME, version, NAME, origin, ds, step, y[ds] * (1 + error))
    engine.dispose()


@pytest.fixture
def champion(registry) -> str:
    return set_validation_mape(registry, 5.0)


def verdict(registry, url, days=400, margin=50.0):
    from paxcast.service.core.contract import read_card

    version = current_version(registry, NAME)
    card = read_card(registry / NAME / version, verify_hash=False)
    engine = open_store(url)
    try:
        return live_verdict(engine, NAME, version, card, days, margin)
    finally:
        engine.dispose()


def test_live_wape_within_the_margin_and_below_naive_is_healthy(registry, champion, store_url, air_csv):
    fill_store(store_url, air_csv, champion, error=0.04)
    found = verdict(registry, store_url)
    assert found.decision == "healthy"
    live = found.numbers
    assert live["wape_pct"] == pytest.approx(4.0)
    assert live["naive_wape_pct"] == pytest.approx(NAIVE_WAPE_PCT)
    assert live["validation"] == {"metric": "mape", "pct": 5.0}
    assert live["threshold_pct"] == pytest.approx(7.5)
    assert (live["points"], live["series"], live["min_points"]) == (12, 1, 12)
    assert live["window"] == {"from": "1959-10-28", "to": "1960-12-01"}


def test_live_wape_beyond_validation_plus_the_margin_is_degraded(registry, champion, store_url, air_csv):
    fill_store(store_url, air_csv, champion, error=0.08)  # 8 % > 7.5 %, still better than naive's 10.05 %
    found = verdict(registry, store_url)
    assert found.decision == "degraded"
    assert found.reason == (
        f"champion {champion}'s live WAPE 8.00% over 12 points (400 days to 1960-12-01) is worse than its "
        "validation MAPE 5.00% by more than 50% (7.50%)"
    )


def test_live_wape_worse_than_live_seasonal_naive_is_degraded_whatever_the_margin(
    registry, champion, store_url, air_csv
):
    fill_store(store_url, air_csv, champion, error=0.11)  # 11 % > naive's 10.05 %; the margin of 200 % allows 15 %
    found = verdict(registry, store_url, margin=200.0)
    assert found.decision == "degraded"
    assert found.reason == (
        f"champion {champion}'s live WAPE 11.00% over 12 points (400 days to 1960-12-01) is worse than live "
        "seasonal naive's 10.05% on the same points"
    )


def test_fewer_points_than_one_horizon_per_series_is_not_judged(registry, champion, store_url, air_csv):
    fill_store(store_url, air_csv, champion, error=0.5, months=11)  # 11 points; the horizon is 12
    found = verdict(registry, store_url)
    assert found.decision == "not judged"
    assert found.reason == (
        f"champion {champion} has 11 scored points in the last 400 days (to 1960-12-01); judging needs at least "
        "one horizon per series scored, 12 x 1 = 12"
    )


def test_a_store_without_actuals_is_not_judged(registry, champion, store_url):
    open_store(store_url).dispose()
    found = verdict(registry, store_url)
    assert found.decision == "not judged"
    assert found.reason == f"champion {champion} has no scored points: no actual is stored for any series it forecast"


def retrain_if_degraded(registry, url, *more):
    flags = ["--registry", str(registry), "--name", NAME, "--epochs", "2", "--ensemble", "1"]
    return main(["retrain", "--store", url, "--if-degraded", "--live-days", "400", *flags, *more])


def test_a_healthy_champion_is_not_retrained_and_history_says_why(registry, champion, tmp_path, air_csv, capsys):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    fill_store(url, air_csv, champion, error=0.04)
    capsys.readouterr()
    assert retrain_if_degraded(registry, url) == 0
    (record,) = read_history(registry, NAME)
    assert (record["event"], record["decision"], record["current"]) == ("retrain", "skipped", champion)
    assert record["live"]["wape_pct"] == pytest.approx(4.0)
    assert record["live"]["naive_wape_pct"] == pytest.approx(NAIVE_WAPE_PCT)
    assert record["live"]["threshold_pct"] == pytest.approx(7.5)
    assert record["reason"].startswith(f"champion {champion}'s live WAPE 4.00% over 12 points")
    assert sorted(p.name for p in (registry / NAME).iterdir() if not p.name.startswith(".")) == sorted(
        [champion, "CURRENT", "history.jsonl"]
    )
    assert capsys.readouterr().out.startswith(f"skipped {NAME}/{champion}: champion {champion}'s live WAPE 4.00%")


def test_too_few_points_is_recorded_and_exits_with_its_own_code(registry, champion, tmp_path, air_csv, capsys):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    fill_store(url, air_csv, champion, error=0.5, months=3)
    assert retrain_if_degraded(registry, url) == EXIT_NOT_JUDGED == 4
    (record,) = read_history(registry, NAME)
    assert (record["decision"], record["current"]) == ("not judged", champion)
    assert (record["live"]["points"], record["live"]["min_points"]) == (3, 12)


@pytest.mark.slow
def test_a_degraded_champion_is_retrained_with_the_trigger_in_history(registry, champion, tmp_path, air_csv):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    fill_store(url, air_csv, champion, error=0.08)
    assert retrain_if_degraded(registry, url) == 0
    (record,) = read_history(registry, NAME)
    assert record["decision"] in ("promoted", "kept")
    assert record["challenger"]["mape"] is not None  # a challenger was fitted and scored
    assert record["live"]["decision"] == "degraded"
    assert record["live"]["wape_pct"] == pytest.approx(8.0)
    assert record["data"]["rows"] == 144


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--if-degraded"], "--if-degraded judges live accuracy in a store: give --store URL"),
        (["--live-days", "7"], "--live-days applies with --if-degraded"),
        (["--degraded-margin", "10"], "--degraded-margin applies with --if-degraded"),
    ],
    ids=["without-store", "live-days-alone", "margin-alone"],
)
def test_if_degraded_flags_are_refused_where_they_cannot_apply(registry, flags, message, capsys):
    assert main(["retrain", "--registry", str(registry), "--name", NAME, *flags]) == 2
    assert capsys.readouterr().err == f"paxcast retrain: {message}\n"


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--live-days", "0"], "--live-days must be between 1 and 3660, got 0"),
        (["--degraded-margin", "-1"], "--degraded-margin must be >= 0, got -1"),
    ],
    ids=["no-days", "negative-margin"],
)
def test_if_degraded_values_out_of_range_are_one_line(registry, tmp_path, flags, message, capsys):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    command = ["retrain", "--store", url, "--if-degraded", "--registry", str(registry), "--name", NAME, *flags]
    assert main(command) == 2
    assert capsys.readouterr().err == f"paxcast retrain: {message}\n"


def test_a_global_card_is_judged_by_its_validation_wape_a_per_series_one_by_its_mape():
    from paxcast.service.core.contract import read_card
    from paxcast.training.retrain.degraded import validation_error
    from tests.conftest import ROOT

    def card(name):
        return read_card(ROOT / "models" / name / current_version(ROOT / "models", name), verify_hash=False)

    seoul = card("seoul_subway_daily")  # a global card: both WAPE and MASE, WAPE is the live number's definition
    assert seoul.validation.wape is not None and seoul.validation.mase is not None
    assert validation_error(seoul) == {"metric": "wape", "pct": seoul.validation.wape}
    assert validation_error(card("air_passengers")) == {"metric": "mape", "pct": 3.06919002532959}
