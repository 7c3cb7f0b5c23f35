"""`paxcast train` on a multi-series file: one global network, its card, its calendar, its refusals."""

from __future__ import annotations

import numpy as np
import pytest

from paxcast.service.cli.main import main
from paxcast.service.core.contract import read_card
from paxcast.service.core.covariates import Calendar
from paxcast.service.core.exceptions import DataError, UsageError
from paxcast.service.core.hyperparameters import GlobalTrainConfig
from paxcast.service.core.registry import current_version
from paxcast.service.core.request import ForecastRequest
from paxcast.service.inference.predictor import Predictor
from paxcast.training.data import Series, read_series
from paxcast.training.network.windows import timeline, validation_origins
from paxcast.training.pipeline import train_and_register
from tests.conftest import TINY_GLOBAL, write_stations


def test_a_multi_series_file_trains_one_global_model_with_a_calendar_card(global_registry, stations_csv):
    version = current_version(global_registry, "stations")
    card = read_card(global_registry / "stations" / version)
    assert card.is_global and isinstance(card.hyperparameters, GlobalTrainConfig)
    assert (card.window, card.horizon, card.season) == (14, 7, 7)
    assert card.covariates.country == "KR" and "holiday" in card.covariates.names
    assert card.hyperparameters.features == len(card.covariates.names) == 12
    assert card.requires == ["history", "start"] and card.onnx.calendar == "calendar"
    assert card.training.series == 6 and card.training.missing == 7  # the missing week, counted, never filled
    assert card.intervals.scale == "level" and len(card.intervals.relative_errors) == card.horizon
    assert card.intervals.floor == 0.0  # counts: no band below zero
    assert card.validation.wape is not None and card.validation.baseline_wape is not None
    assert card.training.peak_rss_mb > 0 and card.training.best_step is not None


def test_a_daily_station_model_keeps_the_running_maximum_of_its_step_quantiles(global_registry):
    """Each step's scores come from one calendar day shared by every station (one validation horizon), so a step's
    own quantile measures that day, not the step: Seoul at 2019-11-30 covered 67.8 % at 80 % without the running
    maximum and 84.2 % with it (same model, docs/accuracy.md's protocol)."""
    card = read_card(global_registry / "stations" / current_version(global_registry, "stations"))
    assert card.freq == "D" and card.intervals.monotone


def test_the_service_builds_the_calendar_rows_the_model_trained_on(global_registry, stations_csv):
    """One torch-free module makes the covariates for training and for requests: the rows are identical."""
    predictor = Predictor.load(global_registry / "stations" / current_version(global_registry, "stations"))
    series = read_series(stations_csv)
    W, H = predictor.window, predictor.horizon
    line = timeline(series, Calendar("D", country="KR"), H)
    for s, offset in zip(series, line.offsets, strict=True):
        end = 100  # the history is the series' first 100 values
        history = np.nan_to_num(s.y[:end], nan=1.0).tolist()
        request = ForecastRequest.model_validate(
            {"series": [{"id": s.id, "history": history, "start": s.start}], "horizon": H}
        )
        served = predictor.prepare(request).calendar[0]
        np.testing.assert_array_equal(served, line.covariates[offset + end - W : offset + end + H])


def test_validation_origins_give_few_series_more_windows_while_a_training_window_remains():
    daily = GlobalTrainConfig(window=28, horizon=7, season=7, features=1)
    long = [Series(f"s{k}", "2019-01-01", "D", np.ones(400)) for k in range(584)]
    assert validation_origins(long, daily.updated(horizon=28)) == [28]
    assert validation_origins(long[:6], daily) == [7, 14, 21, 28]
    monthly = GlobalTrainConfig(window=72, horizon=24, season=12, min_history=24, features=1)
    ten = [Series(f"m{k}", "2010-01-01", "MS", np.ones(120)) for k in range(10)]
    assert validation_origins(ten, monthly) == [24, 48, 72]  # a fourth would leave no training window


def test_flags_of_the_other_kind_of_model_are_refused_in_one_line(stations_csv, tmp_path, capsys):
    assert main(["train", "--data", str(stations_csv), "--out", str(tmp_path), "--epochs", "3"]) == 2
    assert capsys.readouterr().err.strip() == (
        "paxcast train: --epochs applies to per-series models; this trains a global model (see --kind)"
    )
    assert main(["train", "--data", str(stations_csv), "--out", str(tmp_path), "--kind", "per-series"]) == 2
    assert "6 series; a per-series model trains on a file of one series" in capsys.readouterr().err
    assert main(["train", "--data", str(stations_csv), "--out", str(tmp_path), "--country", "XX"]) == 2
    assert "unknown holiday country 'XX'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing registered


def test_a_holiday_file_is_embedded_in_the_card(stations_csv, tmp_path):
    holidays = tmp_path / "holidays.csv"
    holidays.write_text(
        "ds,name\n2019-09-12,Chuseok\n2019-09-13,Chuseok\n2019-09-14,Chuseok\n2019-10-03,x\n2020-01-01,y\n"
    )
    config = {**TINY_GLOBAL, "country": None, "holidays": str(holidays), "steps": 5}
    version, fitted = train_and_register(stations_csv, tmp_path / "reg", "h", show_progress=False, **config)
    card = read_card(tmp_path / "reg" / "h" / version)
    assert card.covariates.holiday_file == "holidays.csv" and len(card.covariates.holidays) == 5
    Predictor.load(tmp_path / "reg" / "h" / version)  # the service rebuilds the calendar without the file


def test_a_holiday_file_s_workdays_reach_the_model_as_offday_and_the_service_rebuilds_them(stations_csv, tmp_path):
    days = tmp_path / "days.csv"
    days.write_text(
        "ds,type\n2019-09-29,workday\n"
        + "".join(f"2019-10-0{d},holiday\n" for d in range(1, 8))
        + "2019-10-12,WORKDAY\n2020-01-01,Holiday\n"
    )
    config = {**TINY_GLOBAL, "country": None, "holidays": str(days), "steps": 5}
    version, _ = train_and_register(stations_csv, tmp_path / "reg", "w", show_progress=False, **config)
    card = read_card(tmp_path / "reg" / "w" / version)
    spec = card.covariates
    assert spec.names[-1] == "offday" and card.hyperparameters.features == 13
    assert [str(d) for d in spec.workdays] == ["2019-09-29", "2019-10-12"] and len(spec.holidays) == 8
    predictor = Predictor.load(tmp_path / "reg" / "w" / version)  # the file is gone: the card is enough
    firsts = np.array(["2019-09-23", "2019-10-07"], dtype="datetime64[s]")
    trained = Calendar("D", holiday_csv=days).windows(firsts, 21)
    np.testing.assert_array_equal(predictor.calendar.windows(firsts, 21), trained)
    assert trained[0, 6, -1] == 0 and trained[0, 5, -1] == 1  # Sunday 09-29 worked, Saturday 09-28 off


@pytest.mark.parametrize(
    "text, message",
    [
        ("ds,type\n2019-10-01,holiday\n2019-10-12,bridge\n", "line 3: type 'bridge' is neither 'holiday' nor"),
        ("ds,type\n2019-10-12,workday\n2019-10-12,holiday\n", "line 3: 2019-10-12 is given as a holiday here"),
    ],
    ids=["unknown-type", "both"],
)
def test_a_bad_type_in_a_holiday_file_stops_train_with_one_line_and_exit_code_2(
    stations_csv, tmp_path, capsys, text, message
):
    days = tmp_path / "days.csv"
    days.write_text(text)
    code = main(["train", "--data", str(stations_csv), "--holidays", str(days), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"{days}: {message}" in err
    assert not (tmp_path / "r").exists()


def test_a_holiday_file_that_misses_the_data_years_is_a_data_error(stations_csv, tmp_path):
    holidays = tmp_path / "holidays.csv"
    holidays.write_text("ds\n2016-01-01\n2017-01-01\n")
    config = {**TINY_GLOBAL, "country": None, "holidays": str(holidays), "steps": 5}
    with pytest.raises(DataError, match="the holiday file covers 2016-2017; timestamps run 2019-2020"):
        train_and_register(stations_csv, tmp_path / "reg", "h", show_progress=False, **config)


def test_too_short_a_file_is_refused_before_training(tmp_path):
    path = write_stations(tmp_path / "short.csv", days=20)
    refused = r"the longest series has 20 steps; window 14 \+ horizon 7 \+ 1 validation horizon\(s\) need 28; give a"
    with pytest.raises(DataError, match=refused):
        train_and_register(path, tmp_path / "reg", "s", show_progress=False, **TINY_GLOBAL)


def test_hourly_data_get_hour_covariates_and_date_time_timestamps(tmp_path):
    hours = 24 * 40
    lines = ["unique_id,ds,y"]
    stamp = np.datetime64("2014-03-01T00:00") + np.arange(hours) * np.timedelta64(1, "h")
    for k, size in enumerate([10.0, 300.0, 50.0]):
        profile = size * (1.2 + np.sin(2 * np.pi * (np.arange(hours) % 24) / 24))
        profile[(np.arange(hours) % 24) < 4] = 0.0  # night-time zeros
        lines += [f"M{k},{str(t)[:16]},{v:.1f}" for t, v in zip(stamp, profile, strict=True)]
    path = tmp_path / "hourly.csv"
    path.write_text("\n".join(lines) + "\n")
    config = dict(window=48, horizon=24, season=24, hidden=8, steps=10, country="AU", subdiv="VIC")
    version, _ = train_and_register(path, tmp_path / "reg", "hourly", show_progress=False, **config)
    predictor = Predictor.load(tmp_path / "reg" / "hourly" / version)
    assert "hour_sin1" in predictor.card.covariates.names and predictor.card.freq == "h"
    assert not predictor.card.intervals.monotone  # night hours stay narrower than the peak before them
    request = ForecastRequest.model_validate(
        {"series": [{"id": "M1", "history": [1.0] * 50, "start": "2015-01-31T08:00"}], "horizon": 3}
    )
    result = predictor.forecast(request)
    assert result.timestamps == [["2015-02-02T10:00:00", "2015-02-02T11:00:00", "2015-02-02T12:00:00"]]
    at_midnight = ForecastRequest.model_validate(
        {"series": [{"id": "M1", "history": [1.0] * 48, "start": "2015-01-31"}], "horizon": 2}
    )
    assert predictor.forecast(at_midnight).timestamps == [["2015-02-02T00:00:00", "2015-02-02T01:00:00"]]
    assert np.isfinite(result.mean).all()


def test_usage_error_for_a_yearly_file(tmp_path):
    path = tmp_path / "yearly.csv"
    path.write_text("unique_id,ds,y\n" + "".join(f"{k},{1990 + t}-01-01,{t + 1}\n" for k in "ab" for t in range(30)))
    with pytest.raises(UsageError, match="global models take hourly, daily, weekly, monthly or quarterly data"):
        train_and_register(path, tmp_path / "reg", "y", show_progress=False, steps=2)


def test_a_series_too_short_for_a_training_window_is_skipped_and_counted(tmp_path, stations_csv, capsys):
    short = tmp_path / "with_a_new_station.csv"
    short.write_text(stations_csv.read_text() + "".join(f"NEW,2020-01-{d:02d},{100 + d}\n" for d in range(1, 20)))
    version, fitted = train_and_register(
        short, tmp_path / "reg", "s", show_progress=True, **{**TINY_GLOBAL, "steps": 3}
    )
    assert "7 series (1 too short for a training window, skipped)" in capsys.readouterr().err
    assert read_card(tmp_path / "reg" / "s" / version).training.short_series == 1


def test_weekly_defaults_pick_checkpoints_by_wape_and_mase_needs_a_seasonal_pair_in_the_window():
    from paxcast.training.network.pipeline import resolve_global_config

    weekly = [Series(f"w{k}", "2016-01-04", "W", np.ones(200)) for k in range(3)]
    config = resolve_global_config(weekly, features=2)
    assert (config.window, config.season, config.metric) == (52, 52, "wape")  # MASE was NaN at every check
    with pytest.raises(UsageError, match=r"^--window 52 must exceed the season \(52\) for MASE"):
        resolve_global_config(weekly, features=2, metric="mase")
    assert config.updated(metric="mase").metric == "mase"  # a card written before the check still loads
