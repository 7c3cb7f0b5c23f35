"""The web page's read-only endpoints (shipped series, registry history, backtest) and its static files."""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
import zipfile

import pytest
from web_data import ROOT, add_model_copy, write_history, write_stations

from paxcast.service.api.datasets import find_data_file, load_data_set

AIR_ROWS = list(csv.DictReader((ROOT / "data" / "air_passengers.csv").open()))


@pytest.fixture
def station_client(registry, make_client, tmp_path):
    """The tiny model served again as 'metro', whose card names a gzipped station data set under a tmp data dir."""
    add_model_copy(registry, "air_passengers", "metro", "metro_monthly.csv.gz")
    write_stations(tmp_path / "data")
    return make_client(data_dir=tmp_path / "data")


def test_series_lists_the_shipped_air_passengers_series(make_client):
    client = make_client(data_dir=ROOT / "data")
    response = client.get("/v1/models/air_passengers/series")
    assert response.status_code == 200
    assert response.json() == {
        "model": "air_passengers",
        "data_file": "air_passengers.csv",
        "available": True,
        "trained_on_this_file": True,
        "problem": None,
        "total": 1,
        "series": [
            {
                "id": "air_passengers",
                "name": "air_passengers",
                "length": 144,
                "start": "1949-01-01",
                "end": "1960-12-01",
            }
        ],
    }


def test_series_values_are_the_newest_window_with_the_date_of_the_first(make_client):
    client = make_client(data_dir=ROOT / "data")
    body = client.get("/v1/models/air_passengers/series/air_passengers").json()
    assert (
        body["start"] == "1959-01-01" and body["freq"] == "MS" and body["missing"] == 0
    )  # the tiny model's window is 24
    assert body["values"] == [float(row["y"]) for row in AIR_ROWS[-24:]]
    assert len(client.get("/v1/models/air_passengers/series/air_passengers?last=1000").json()["values"]) == 144


def test_without_its_data_set_a_model_offers_no_series(make_client, tmp_path):
    response = make_client(data_dir=tmp_path).get("/v1/models/air_passengers/series")
    assert response.status_code == 200
    body = response.json()
    assert (body["available"], body["series"], body["total"], body["problem"], body["trained_on_this_file"]) == (
        False,
        [],
        0,
        None,
        None,
    )


def test_series_of_an_unknown_model_is_404(client):
    for path in (
        "/v1/models/nope/series",
        "/v1/models/nope/series/x",
        "/v1/models/nope/history",
        "/v1/models/nope/backtest",
    ):
        response = client.get(path)
        assert (response.status_code, response.json()) == (
            404,
            {"detail": "model 'nope' is not served here (served: air_passengers)"},
        ), path


def test_an_unknown_series_is_404_naming_the_data_set(make_client):
    response = make_client(data_dir=ROOT / "data").get("/v1/models/air_passengers/series/SEL0001")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": "model 'air_passengers': its data set (air_passengers.csv) has no series 'SEL0001'"},
    )


def test_station_series_are_named_from_the_sidecar_and_searched_by_any_word(station_client):
    every = station_client.get("/v1/models/metro/series").json()
    assert [(s["id"], s["name"]) for s in every["series"]] == [
        ("ST01", "Gangnam (Line 2)"),
        ("ST02", "Jamsil (Line 2)"),
        ("ST03", "Yeouido (Line 9)"),
    ]
    assert (
        every["available"] is True and every["trained_on_this_file"] is False
    )  # the tiny model was trained on air_passengers.csv
    assert [
        s["id"] for s in station_client.get("/v1/models/metro/series", params={"q": "gangNAM"}).json()["series"]
    ] == ["ST01"]
    assert [
        s["id"] for s in station_client.get("/v1/models/metro/series", params={"q": "line 2"}).json()["series"]
    ] == ["ST01", "ST02"]
    assert [s["id"] for s in station_client.get("/v1/models/metro/series", params={"q": "st03"}).json()["series"]] == [
        "ST03"
    ]
    limited = station_client.get("/v1/models/metro/series", params={"limit": 2}).json()
    assert (limited["total"], len(limited["series"])) == (3, 2)
    assert station_client.get("/v1/models/metro/series", params={"q": "nowhere"}).json()["series"] == []


def test_station_values_come_from_the_gzipped_file(station_client):
    body = station_client.get("/v1/models/metro/series/ST02", params={"last": 3}).json()
    assert body == {
        "id": "ST02",
        "name": "Jamsil (Line 2)",
        "freq": "MS",
        "start": "2019-10-01",
        "values": body["values"],
        "missing": 0,
    }
    expected = [2000 + 200 * math.sin(2 * math.pi * k / 12) + 5 * k for k in (57, 58, 59)]
    assert body["values"] == pytest.approx(expected, abs=0.06)


@pytest.mark.parametrize("folder", [True, False], ids=["in-its-folder", "flat"])
def test_a_data_file_is_found_in_its_folder_or_flat(tmp_path, folder):
    path = write_stations(tmp_path, folder=folder)
    assert find_data_file(tmp_path, "metro_monthly.csv.gz") == path
    assert find_data_file(tmp_path, "some/where/metro_monthly.csv.gz") == path  # only the file name of a card counts
    assert find_data_file(tmp_path, "../metro_monthly.csv.gz") == path
    assert find_data_file(tmp_path, "other.csv.gz") is None


def test_a_missing_timestamp_is_null_and_counted(registry, make_client, tmp_path):
    add_model_copy(registry, "air_passengers", "metro", "metro_monthly.csv.gz")
    write_stations(tmp_path / "data", skip=("ST01", 58))
    client = make_client(data_dir=tmp_path / "data")
    body = client.get("/v1/models/metro/series/ST01", params={"last": 3}).json()
    assert (body["start"], body["values"][1], body["missing"]) == ("2019-10-01", None, 1)


def test_a_value_that_is_not_finite_is_null(registry, make_client, tmp_path):
    add_model_copy(registry, "air_passengers", "metro", "metro.csv")
    (tmp_path / "metro.csv").write_text("unique_id,ds,y\nx,2020-01-01,1\nx,2020-02-01,inf\nx,2020-03-01,nan\n")
    body = make_client(data_dir=tmp_path).get("/v1/models/metro/series/x").json()
    assert (body["values"], body["missing"]) == ([1.0, None, None], 2)


def test_daily_and_hourly_data_sets_land_on_their_grid(tmp_path):
    daily = tmp_path / "daily.csv"
    daily.write_text("unique_id,ds,y\na,2020-01-01,1\na,2020-01-02,2\na,2020-01-05,5\nb,2020-01-03,7\nb,2020-01-04,8\n")
    series = load_data_set(tmp_path, "daily.csv", "D").series
    assert (
        series["a"].values.tolist()[:2] == [1.0, 2.0]
        and math.isnan(series["a"].values[2])
        and series["a"].values[4] == 5.0
    )
    assert series["b"].timestamp(1, "D") == "2020-01-04"
    hourly = tmp_path / "hourly.csv"
    hourly.write_text("ds,y\n2020-01-01T22:00:00,1\n2020-01-01T23:00:00,2\n2020-01-02T00:00:00,3\n")
    (only,) = load_data_set(tmp_path, "hourly.csv", "h").series.values()
    assert (only.id, only.values.tolist(), only.timestamp(1, "h"), only.timestamp(2, "h")) == (
        "hourly",
        [1.0, 2.0, 3.0],
        "2020-01-01T23:00:00",
        "2020-01-02",
    )


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"\x1f\x8b\x08\x00garbage", "cannot be read as unique_id,ds,y"),
        (gzip.compress(b"a,b\n1,2\n"), "line 1: expected columns unique_id,ds,y (header is a,b)"),
        (
            gzip.compress(b"unique_id,ds,y\nx,2020-01-01,1\nx,2020-01-15,2\n"),
            "series 'x' (from line 2): a timestamp is off the model's MS grid",
        ),
        (
            gzip.compress(b"unique_id,ds,y\nx,2020-01-01,abc\n"),
            "series 'x' (from line 2): could not convert string to float: 'abc'",
        ),
        (
            gzip.compress(b"unique_id,ds,y\nx,2020-02-01,1\nx,2020-01-01,2\n"),
            "series 'x' (from line 2): timestamps are not strictly increasing",
        ),
    ],
    ids=["not-gzip", "no-ds-column", "off-grid", "not-a-number", "unsorted"],
)
def test_an_unreadable_data_set_offers_no_series_and_says_why(registry, make_client, tmp_path, content, problem):
    add_model_copy(registry, "air_passengers", "metro", "metro_monthly.csv.gz")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "metro_monthly.csv.gz").write_bytes(content)
    body = make_client(data_dir=tmp_path / "data").get("/v1/models/metro/series").json()
    assert (body["available"], body["series"]) == (False, [])
    assert body["problem"].startswith("metro_monthly.csv.gz: ") and problem in body["problem"]  # from the data dir


def test_history_is_newest_first_and_skips_torn_and_foreign_lines(registry, make_client):
    write_history(registry, "air_passengers")
    body = make_client().get("/v1/models/air_passengers/history").json()
    assert [r["decision"] for r in body["records"]] == ["promoted", "kept"]
    assert body["skipped"] == 3  # the torn last line, and two JSON lines that are no record (one has a NaN score)
    newest = body["records"][0]
    assert (
        newest["current"],
        newest["challenger"]["mape"],
        newest["champion"]["version"],
        newest["holdout"]["points"],
    ) == ("V2", 6.0, "V1", 108)
    assert body["records"][1]["data"] == {
        "file": "incoming/metro.csv",
        "rows": 180,
        "series": 3,
        "through": {"ST01": "2019-12-01T00:00:00"},
    }


def test_history_is_empty_before_any_retrain(client):
    assert client.get("/v1/models/air_passengers/history").json() == {
        "model": "air_passengers",
        "records": [],
        "skipped": 0,
    }


def test_backtest_is_404_without_one_and_abridged_with_one(registry, client):
    response = client.get("/v1/models/air_passengers/backtest")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": "model 'air_passengers' has no backtest in the registry (backtest.json)"},
    )
    document = {
        "data": "data/air_passengers.csv",
        "splits": "hold-out: the last 36 values",
        "levels": [80, 95],
        "summary": {
            "LSTM (paxcast)": {
                "mape": None,  # a zero actual: undefined, written as null
                "wape": 3.9,
                "smape": 4.0,
                "mase": 0.9,
                "rmse": 25.0,
                "coverage80": 81.0,
                "coverage95": 94.0,
                "splits": [],
            },
            "SeasonalNaive": {"mape": 9.5, "smape": 9.9, "mase": 2.1, "rmse": 50.0, "splits": []},
        },
    }
    (registry / "air_passengers" / "backtest.json").write_text(json.dumps(document))
    body = client.get("/v1/models/air_passengers/backtest").json()
    assert body["splits"] == "hold-out: the last 36 values" and body["levels"] == [80, 95]
    assert body["methods"][0] == {
        "name": "LSTM (paxcast)",
        "mape": None,
        "wape": 3.9,
        "smape": 4.0,
        "mase": 0.9,
        "rmse": 25.0,
        "coverage": {"80": 81.0, "95": 94.0},
    }
    assert body["methods"][1]["coverage"] == {}
    document["summary"]["SeasonalNaive"]["mape"] = float("nan")  # JSON has no NaN: refused, never a 500
    (registry / "air_passengers" / "backtest.json").write_text(json.dumps(document))
    assert client.get("/v1/models/air_passengers/backtest").json() == {
        "detail": "model 'air_passengers': backtest.json in the registry cannot be read: "
        "summary['SeasonalNaive'].mape: Input should be a finite number"
    }
    (registry / "air_passengers" / "backtest.json").write_text("{not json")
    assert client.get("/v1/models/air_passengers/backtest").json() == {
        "detail": "model 'air_passengers': backtest.json in the registry cannot be read: "
        "not JSON: Expecting property name enclosed in double quotes (line 1, column 2)"
    }


def test_the_page_and_every_asset_it_names_are_served_from_this_origin(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    links = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert [link for link in links if not link.startswith("static/")] == [
        "data:,",
        "docs",
    ]  # no favicon fetch; the API docs
    assets = sorted(link for link in links if link.startswith("static/"))
    assert assets == [
        "static/accuracy.js",
        "static/app.css",
        "static/app.js",
        "static/input.js",
        "static/uPlot.iife.min.js",
        "static/uPlot.min.css",
    ]
    for asset in assets:
        response = client.get("/" + asset)
        assert response.status_code == 200 and len(response.content) > 1000, asset
    assert "MIT License" in client.get("/static/LICENSE-uPlot.txt").text
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    for bad in ("/static/nope.js", "/static/..%2Fsettings.py", "/static/index.html"):
        assert client.get(bad).status_code == 404, bad


def test_the_page_is_not_in_the_api_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and "/static/{asset}" not in paths
    assert {
        "/v1/models/{name}/series",
        "/v1/models/{name}/series/{series_id}",
        "/v1/models/{name}/history",
        "/v1/models/{name}/backtest",
    } <= set(paths)


def test_the_wheel_carries_the_page(built_wheel):
    """The serving install is the wheel: every file the page route serves must be inside it."""
    from paxcast.service.api.pages import ASSETS

    wheel = built_wheel
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"paxcast/service/api/static/{name}" for name in [*ASSETS, "index.html"]} <= names
