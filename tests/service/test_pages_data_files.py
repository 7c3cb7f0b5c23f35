"""The shipped data set the page's series routes read is not trusted (issue 30).

A data file that cannot be read says why, naming it from the data directory (never a server path),
and a read the system refused is tried again on the next request.
"""

from __future__ import annotations

import errno
import os

import pytest
from web_data import add_model_copy, write_stations

from paxcast.service.api import datasets

AS_ROOT = os.geteuid() == 0


@pytest.fixture
def metro(registry, make_client, tmp_path):
    """Model 'metro' whose card names the station data set, in `<tmp>/data/metro_monthly/`."""
    add_model_copy(registry, "air_passengers", "metro", "metro_monthly.csv.gz")
    write_stations(tmp_path / "data")
    return make_client(data_dir=tmp_path / "data")


def page_bodies(client) -> str:
    """Every body the page's data set routes answer for model 'metro', as text."""
    return client.get("/v1/models/metro/series").text + client.get("/v1/models/metro/series/ST01").text


def test_a_data_file_that_cannot_be_read_says_why_naming_it_from_the_data_dir(metro, tmp_path):
    (tmp_path / "data" / "metro_monthly" / "metro_monthly.csv.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    catalog = metro.get("/v1/models/metro/series").json()
    assert catalog["available"] is False
    assert catalog["problem"].startswith("metro_monthly/metro_monthly.csv.gz: cannot be read as unique_id,ds,y (")
    values = metro.get("/v1/models/metro/series/ST01")
    assert (values.status_code, values.json()) == (
        404,
        {"detail": f"model 'metro': its data set (metro_monthly.csv.gz) cannot be offered: {catalog['problem']}"},
    )
    assert str(tmp_path) not in page_bodies(metro)


def test_a_data_file_that_comes_back_readable_is_offered_again(metro, tmp_path, monkeypatch):
    def refuse(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))  # what chmod 000 does, for root too

    monkeypatch.setattr(datasets, "open_text", refuse)
    catalog = metro.get("/v1/models/metro/series").json()
    assert (catalog["available"], catalog["problem"]) == (
        False,
        "metro_monthly/metro_monthly.csv.gz: cannot be read (Permission denied)",
    )
    assert str(tmp_path) not in page_bodies(metro)
    monkeypatch.undo()
    catalog = metro.get("/v1/models/metro/series").json()
    assert (catalog["available"], catalog["problem"], catalog["total"]) == (True, None, 3)


@pytest.mark.skipif(AS_ROOT, reason="root reads a file whatever its mode; the test above provokes the same error")
def test_a_data_file_made_unreadable_and_readable_again_is_offered_again(metro, tmp_path):
    path = tmp_path / "data" / "metro_monthly" / "metro_monthly.csv.gz"
    path.chmod(0)
    assert metro.get("/v1/models/metro/series").json()["problem"] == (
        "metro_monthly/metro_monthly.csv.gz: cannot be read (Permission denied)"
    )
    path.chmod(0o644)
    assert metro.get("/v1/models/metro/series").json()["available"] is True


def test_a_data_file_the_system_cannot_look_up_says_why(registry, make_client, tmp_path):
    long_name = "x" * 300 + ".csv"  # past NAME_MAX: an OSError when looked up, for root too
    add_model_copy(registry, "air_passengers", "metro", long_name)
    (tmp_path / "data").mkdir()  # the name is too long only where the folder it is looked up in exists
    client = make_client(data_dir=tmp_path / "data")
    catalog = client.get("/v1/models/metro/series")
    assert catalog.status_code == 200, catalog.text
    assert (catalog.json()["available"], catalog.json()["problem"]) == (
        False,
        f"{'x' * 300}/{long_name}: cannot be read (File name too long)",
    )
    assert str(tmp_path) not in page_bodies(client)


@pytest.mark.skipif(AS_ROOT, reason="root reads a folder whatever its mode; the test above provokes an OSError")
def test_a_data_folder_without_permission_says_why(metro, tmp_path):
    folder = tmp_path / "data" / "metro_monthly"
    folder.chmod(0)
    try:
        catalog = metro.get("/v1/models/metro/series").json()
    finally:
        folder.chmod(0o755)
    assert (catalog["available"], catalog["problem"]) == (
        False,
        "metro_monthly/metro_monthly.csv.gz: cannot be read (Permission denied)",
    )
