"""`POST /v1/actuals`: the ingest token's guard, strict rows, one transaction, replace-and-count, limits."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select

from paxcast.service.store.schema import actuals

TOKEN = "s3cret-ingest-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def row(unique_id="SEL0011", ds="2020-09-30", y=24798):
    return {"unique_id": unique_id, "ds": ds, "y": y}


@pytest.fixture
def ingest(make_client, store_url):
    return make_client(store=store_url, ingest_token=TOKEN)


def stored(store_url) -> dict:
    engine = create_engine(store_url)
    with engine.connect() as conn:
        found = {(r.unique_id, r.ds.date().isoformat()): r.y for r in conn.execute(select(actuals))}
    engine.dispose()
    return found


def test_rows_are_written_and_counted_new_then_replaced(ingest, store_url):
    first = ingest.post("/v1/actuals", json={"rows": [row(), row(ds="2020-10-01", y=-3)]}, headers=AUTH)
    assert first.status_code == 200, first.text
    assert first.json() == {"rows": 2, "new": 2, "replaced": 0, "negative": 1}
    again = ingest.post("/v1/actuals", json={"rows": [row(y=1), row("SEL0012")]}, headers=AUTH)
    assert again.json() == {"rows": 2, "new": 1, "replaced": 1, "negative": 0}
    assert stored(store_url) == {
        ("SEL0011", "2020-09-30"): 1.0,
        ("SEL0011", "2020-10-01"): -3.0,
        ("SEL0012", "2020-09-30"): 24798.0,
    }


@pytest.mark.parametrize(
    "bad, detail",
    [
        (
            row(ds="2020-13-01"),
            "ds: '2020-13-01' is not an ISO date or date-time (e.g. 2020-09-30 or 2020-09-30T08:00)",
        ),
        (row(ds=20200930), "ds: must be an ISO date or date-time string, e.g. 2020-09-30"),
        (row(y="12"), "y: Input should be a valid number"),
        (row(y=True), "y: Input should be a valid number"),
        (row(y=1e31), "y: 1e+31 is beyond ±1e+30, the largest value training can use"),
        ({**row(), "extra": 1}, "extra: Extra inputs are not permitted"),
        (row(unique_id=" SEL0011"), "unique_id: must not start or end with whitespace"),
    ],
    ids=["bad-date", "date-not-text", "y-text", "y-bool", "y-huge", "unknown-field", "id-spaces"],
)
def test_a_bad_row_is_a_422_naming_index_id_and_rule_and_writes_nothing(ingest, store_url, bad, detail):
    response = ingest.post("/v1/actuals", json={"rows": [row(), row("SEL0012"), bad]}, headers=AUTH)
    assert response.status_code == 422
    name = f"rows[2] (unique_id {bad['unique_id']!r})"
    assert response.json() == {"detail": f"{name}: {detail}; nothing was written"}
    assert stored(store_url) == {}


def test_a_non_finite_y_is_refused(ingest, store_url):
    response = ingest.post(
        "/v1/actuals", content=b'{"rows": [{"unique_id": "A", "ds": "2020-09-30", "y": NaN}]}', headers=AUTH
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("rows[0] (unique_id 'A'): y: ")
    assert stored(store_url) == {}


def test_the_same_key_twice_in_one_request_is_a_422_naming_both_rows(ingest, store_url):
    response = ingest.post("/v1/actuals", json={"rows": [row(), row("B"), row(y=5)]}, headers=AUTH)
    assert response.status_code == 422
    assert response.json() == {
        "detail": "rows[2] (unique_id 'SEL0011'): ds 2020-09-30T00:00:00 repeats rows[0]; a request may hold "
        "each (unique_id, ds) once; nothing was written"
    }
    assert stored(store_url) == {}


@pytest.mark.parametrize(
    "body, status, detail",
    [
        (b"{", 400, "request body is not valid JSON: EOF while parsing an object at line 1 column 1"),
        (b'{"rows": []}', 422, "rows: List should have at least 1 item after validation, not 0; nothing was written"),
        (b"[]", 422, "body: Input should be a valid dictionary or instance of ActualsIn; nothing was written"),
    ],
    ids=["not-json", "no-rows", "not-an-object"],
)
def test_a_malformed_body_is_a_4xx_saying_why(ingest, body, status, detail):
    response = ingest.post("/v1/actuals", content=body, headers=AUTH)
    assert (response.status_code, response.json()) == (status, {"detail": detail})


def test_more_rows_than_the_limit_is_a_413_naming_the_setting(make_client, store_url):
    client = make_client(store=store_url, ingest_token=TOKEN, max_actuals_rows=2)
    response = client.post("/v1/actuals", json={"rows": [row(ds=f"2020-09-0{d}") for d in (1, 2, 3)]}, headers=AUTH)
    assert response.status_code == 413
    assert response.json() == {"detail": "request has 3 rows; the limit is 2 (PAXCAST_MAX_ACTUALS_ROWS)"}


def test_the_body_limit_applies(make_client, store_url):
    client = make_client(store=store_url, ingest_token=TOKEN, max_body_bytes=1024)
    response = client.post(
        "/v1/actuals", json={"rows": [row(ds=f"2020-01-{d:02}") for d in range(1, 29)]}, headers=AUTH
    )
    assert response.status_code == 413
    assert "PAXCAST_MAX_BODY_BYTES" in response.json()["detail"]


@pytest.mark.parametrize(
    "headers, status, detail",
    [
        ({}, 401, "POST /v1/actuals needs an 'Authorization: Bearer <token>' header"),
        ({"Authorization": "Bearer wrong"}, 403, "the ingest token is not valid"),
    ],
    ids=["no-token", "wrong-token"],
)
def test_writing_needs_the_ingest_token(ingest, store_url, headers, status, detail):
    response = ingest.post("/v1/actuals", json={"rows": [row()]}, headers=headers)
    assert (response.status_code, response.json()) == (status, {"detail": detail})
    assert stored(store_url) == {}


def test_the_route_does_not_exist_without_an_ingest_token(make_client, store_url):
    client = make_client(store=store_url)
    response = client.post("/v1/actuals", json={"rows": [row()]}, headers=AUTH)
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


def test_the_admin_guard_is_unchanged(make_client, store_url):
    client = make_client(store=store_url, admin_token="a")
    assert client.post("/v1/admin/reload").json() == {
        "detail": "admin endpoints need an 'Authorization: Bearer <token>' header"
    }
    assert client.post("/v1/admin/reload", headers={"Authorization": "Bearer b"}).status_code == 403
