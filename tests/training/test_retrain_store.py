"""`paxcast retrain --store URL`: the model's series come out of the store, read as a data file is."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert

from paxcast.service.cli.main import main
from paxcast.service.core.history import read_history
from paxcast.service.store.engine import open_store, shown_url
from paxcast.service.store.schema import forecasts

NAME = "air_passengers"


def log_forecast(url: str, model: str, unique_id: str) -> None:
    """One logged forecast step, as the service's writer records it: what makes `unique_id` the model's."""
    store = open_store(url)
    origin = dt.datetime(1960, 12, 1)
    with store.begin() as conn:
        conn.execute(
            insert(forecasts),
            {
                "model": model,
                "version": "v1",
                "unique_id": unique_id,
                "origin": origin,
                "ds": dt.datetime(1961, 1, 1),
                "step": 1,
                "mean": 400.0,
                "request_id": "r1",
                "created_at": origin,
            },
        )
    store.dispose()


@pytest.mark.slow
def test_retrain_reads_the_models_series_from_the_store(registry, air_csv, store_url, tmp_path, capsys):
    other = tmp_path / "other.csv"
    other.write_text(
        "unique_id,ds,y\n" + "".join(f"OTHER,{1949 + m // 12}-{1 + m % 12:02d}-01,-5\n" for m in range(144))
    )
    assert main(["actuals", "load", str(air_csv), "--store", store_url]) == 0
    assert main(["actuals", "load", str(other), "--store", store_url]) == 0  # another model's series: not trained on
    log_forecast(store_url, NAME, NAME)
    log_forecast(store_url, "other_model", "OTHER")
    capsys.readouterr()

    flags = ["--registry", str(registry), "--name", NAME, "--epochs", "2", "--ensemble", "1"]
    assert main(["retrain", "--store", store_url, *flags]) == 0
    (record,) = read_history(registry, NAME)
    assert record["data"]["file"] == f"--store {shown_url(store_url)}"
    assert (record["data"]["rows"], record["data"]["series"]) == (144, 1)
    assert record["data"]["through"] == {NAME: "1960-12-01T00:00:00"}
    assert capsys.readouterr().out.startswith(("promoted air_passengers/", "kept air_passengers/"))


def test_a_store_without_the_models_series_is_one_line_and_exit_3(registry, store_url, capsys):
    open_store(store_url).dispose()
    assert main(["retrain", "--store", store_url, "--registry", str(registry), "--name", NAME]) == 3
    err = capsys.readouterr().err
    assert err == (
        f"paxcast retrain: --store {shown_url(store_url)}: no series of model {NAME}: it has served no forecast "
        "with an id and a start, and history.jsonl names none it was trained on\n"
    )


def test_a_series_the_store_holds_too_little_of_names_the_store_not_a_temp_file(registry, store_url, tmp_path, capsys):
    short = tmp_path / "short.csv"
    short.write_text("unique_id,ds,y\n" + "".join(f"{NAME},1960-{m:02d}-01,{100 + m}\n" for m in range(1, 13)))
    assert main(["actuals", "load", str(short), "--store", store_url]) == 0
    log_forecast(store_url, NAME, NAME)
    capsys.readouterr()
    assert main(["retrain", "--store", store_url, "--registry", str(registry), "--name", NAME]) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"paxcast retrain: --store {shown_url(store_url)}: series '{NAME}' has 12 rows; ")
    assert err.count("\n") == 1
    assert "paxcast-retrain-" not in err


def test_data_and_store_are_one_or_the_other(registry, store_url, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["retrain", "--data", "x.csv", "--store", store_url, "--registry", str(registry), "--name", NAME])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
