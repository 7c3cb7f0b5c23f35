"""Issue 15 in process: bodies that cost more to refuse than to send, dates past 9999, strict types, labels, 500s."""

from __future__ import annotations

import json
import logging
import time

import pytest

from paxcast.service.core.registry import current_version

GOOD = list(range(100, 124))


def post(client, body, **kwargs):
    return client.post("/v1/forecast", json=body, **kwargs)


def test_millions_of_wrong_type_items_are_refused_fast_naming_the_first(client):
    raw = b'{"series":[' + b",".join([b"1"] * 1_000_000) + b'],"horizon":1}'
    started = time.perf_counter()
    response = client.post("/v1/forecast", content=raw)
    seconds = time.perf_counter() - started
    assert response.status_code == 422
    assert response.json() == {"detail": "series[0]: Input should be an object"}
    assert seconds < 1.0, f"took {seconds:.2f} s"  # before: validation plus a million error dicts, ~6 s and 1.3 GB


def test_a_wrong_value_deep_in_a_long_history_names_its_series(client):
    history = [1.0] * 200_000
    history[150_000] = "x"
    body = {"series": [{"id": "ok", "history": GOOD}, {"id": "long", "history": history}], "horizon": 3}
    response = post(client, body)
    assert response.status_code == 422
    assert response.json() == {"detail": "series 'long': history[150000]: Input should be a valid number"}


def test_many_unknown_fields_are_refused_fast(client):
    fields = ",".join(f'"k{i}":1' for i in range(300_000))
    raw = f'{{"series":[{{"id":"air","history":{json.dumps(GOOD * 1000)}}}],"horizon":3,{fields}}}'  # past the prefix
    started = time.perf_counter()
    response = client.post("/v1/forecast", content=raw)
    seconds = time.perf_counter() - started
    assert response.status_code == 422
    assert response.json() == {"detail": "body: 300000 fields are not permitted (Extra inputs are not permitted)"}
    assert seconds < 2.0, f"took {seconds:.2f} s"


def test_unknown_fields_beside_a_bad_field_report_the_field(client):
    fields = ",".join(f'"k{i}":1' for i in range(2_000))
    raw = f'{{"series":[{{"id":"air","history":{json.dumps(GOOD * 1000)}}}],"horizon":0,{fields}}}'
    response = client.post("/v1/forecast", content=raw)
    assert response.status_code == 422
    assert response.json() == {"detail": "horizon: Input should be greater than or equal to 1 (and 2000 more problems)"}


# pydantic-core's JSON parser reads at most this many nested arrays and objects; one more is a parse error.
PARSER_DEPTH = 201
IN_HISTORY = b'{"series":[{"id":"a","history":'  # three levels deep already: object, list, object


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [PARSER_DEPTH + 1, 1_000, 100_000])  # 100,000: a big body, parsed off the loop
def test_json_nested_deeper_than_the_parser_reads_is_400_naming_where_without_a_traceback(client, caplog, depth):
    with caplog.at_level(logging.DEBUG):
        bare = client.post("/v1/forecast", content=nested(depth))
        in_history = client.post("/v1/forecast", content=IN_HISTORY + nested(depth) + b'}],"horizon":1}')
    assert (bare.status_code, bare.json()) == (
        400,
        {"detail": "request body is not valid JSON: recursion limit exceeded at line 1 column 202"},
    )
    column = len(IN_HISTORY) + PARSER_DEPTH + 1 - 3  # the first bracket past the limit
    assert (in_history.status_code, in_history.json()) == (
        400,
        {"detail": f"request body is not valid JSON: recursion limit exceeded at line 1 column {column}"},
    )
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text


@pytest.mark.parametrize("depth", [100, PARSER_DEPTH])
def test_json_nested_as_deep_as_the_parser_reads_is_validated_as_any_body(client, depth):
    """Within the parser's depth the body is JSON: the schema refuses it (422) and names the field."""
    bare = client.post("/v1/forecast", content=nested(depth))
    assert (bare.status_code, bare.json()) == (422, {"detail": "body: Input should be an object"})
    in_history = client.post("/v1/forecast", content=IN_HISTORY + nested(depth - 3) + b'}],"horizon":1}')
    assert (in_history.status_code, in_history.json()) == (
        422,
        {"detail": "series 'a': history[0]: Input should be a valid number"},
    )


def test_timestamps_past_year_9999_are_422_naming_the_rule(client, air_history):
    body = {"series": [{"id": "air", "history": air_history[-24:], "start": "9998-01-01"}], "horizon": 12}
    response = post(client, body)
    assert response.status_code == 422
    assert response.json() == {
        "detail": "series 'air': start 9998-01-01 plus 35 monthly steps passes 9999-12-31, "
        "the last date timestamps can name"
    }


def test_timestamps_up_to_the_last_month_are_served(client, air_history):
    body = {"series": [{"id": "air", "history": air_history[-24:], "start": "9997-01-01"}], "horizon": 12}
    response = post(client, body)
    assert response.status_code == 200
    assert response.json()["forecasts"][0]["timestamps"][-1] == "9999-12-01"


@pytest.mark.parametrize(
    "field, value, detail",
    [
        ("horizon", True, "horizon: Input should be a valid integer"),
        ("horizon", "12", "horizon: Input should be a valid integer"),
        ("horizon", 3.0, "horizon: Input should be a valid integer"),
        (
            "start",
            0,
            "series 'air': start: Input should be an ISO date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM) string",
        ),
        (
            "start",
            1e9,
            "series 'air': start: Input should be an ISO date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM) string",
        ),
    ],
    ids=["horizon-true", "horizon-string", "horizon-float", "start-0", "start-number"],
)
def test_types_are_strict(client, field, value, detail):
    body = {"series": [{"id": "air", "history": GOOD}], "horizon": 3}
    if field == "start":
        body["series"][0]["start"] = value
    else:
        body[field] = value
    response = post(client, body)
    assert response.status_code == 422
    assert response.json() == {"detail": detail}


def test_iso_date_strings_are_still_accepted_for_start(client):
    body = {"series": [{"id": "air", "history": GOOD, "start": "1958-01-01"}], "horizon": 2}
    assert post(client, body).json()["forecasts"][0]["timestamps"] == ["1960-01-01", "1960-02-01"]


def test_close_levels_get_distinct_exact_labels(client):
    body = {
        "series": [{"id": "air", "history": GOOD}],
        "horizon": 2,
        "level": [50, 50.0000001, 99.99999999999999, 80.0],
    }
    response = post(client, body)
    assert response.status_code == 200
    intervals = response.json()["forecasts"][0]["intervals"]
    assert list(intervals) == ["50", "50.0000001", "80", "99.99999999999999"]
    assert intervals["50"] != intervals["50.0000001"]


def test_levels_equal_as_numbers_are_one_interval(client):
    body = {"series": [{"id": "air", "history": GOOD}], "horizon": 2, "level": [80, 80.0]}
    assert list(post(client, body).json()["forecasts"][0]["intervals"]) == ["80"]


def test_intervals_beyond_float32_are_422_not_null(make_client, registry):
    meta_path = registry / "air_passengers" / current_version(registry, "air_passengers") / "model.json"
    meta = json.loads(meta_path.read_text())
    # the widest calibration a card may hold (contract.MAX_RELATIVE_ERROR) on a history near float32's limit
    meta["intervals"]["relative_errors"] = [[1000.0] * len(step) for step in meta["intervals"]["relative_errors"]]
    meta_path.write_text(json.dumps(meta))
    client = make_client()
    huge = [value * 1e35 for value in GOOD]
    response = post(client, {"series": [{"id": "air", "history": huge}], "horizon": 3, "level": [80]})
    assert response.status_code == 422, response.text
    assert response.json() == {
        "detail": "series 'air': the 80% interval is not finite in float32; "
        "the history is outside the range this model can forecast"
    }
    assert post(client, {"series": [{"id": "air", "history": huge}], "horizon": 3}).status_code == 200
    assert post(client, {"series": [{"id": "air", "history": GOOD}], "horizon": 3, "level": [80]}).status_code == 200


def test_a_500_carries_the_request_id_and_a_json_detail(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(type(client.app.state.models.holders["air_passengers"].predictor), "run_rows", broken)
    response = post(
        client, {"series": [{"id": "air", "history": GOOD}], "horizon": 3}, headers={"X-Request-ID": "err-1"}
    )
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "err-1"
    assert response.json() == {"detail": "internal server error; request id err-1"}


@pytest.mark.parametrize(
    "raw, detail",
    [
        (b'{"series":[' + b",".join([b"1"] * 100_000) + b'],"horizon":1}', "series[0]: Input should be an object"),
        (
            b'{"series":[{"id":"air","history":[1,2,"x",' + b",".join([b"1"] * 100_000) + b']}],"horizon":1}',
            "series 'air': history[2]: Input should be a valid number",
        ),
        (
            b'{"colour":1,"series":[{"id":"air","history":[' + b",".join([b"1"] * 100_000) + b']}],"horizon":1}',
            "colour: Extra inputs are not permitted",
        ),
        (b"[" + b",".join([b"1"] * 100_000) + b"]", "body: Input should be an object"),
    ],
    ids=["series-items", "history-item", "unknown-field-first", "not-an-object"],
)
def test_a_problem_in_the_first_bytes_of_a_big_body_is_found_from_them(raw, detail):
    from paxcast.service.api.parsing import RequestInvalid, check_prefix, parse_forecast_request

    with pytest.raises(RequestInvalid) as caught:
        check_prefix(raw)
    assert caught.value.errors()[0]["msg"] in detail
    with pytest.raises(RequestInvalid) as full:
        parse_forecast_request(raw)
    assert full.value.errors()[0]["msg"] == caught.value.errors()[0]["msg"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"series":[{"id":"air","history":[' + b",".join([b"12345"] * 20_000) + b']}],"horizon":3}',
        b'{"series":['
        + b",".join([b'{"id":"s%d","history":[1,2,3],"start":"1958-01-01"}' % k for k in range(2_000)])
        + b'],"horizon":3}',
    ],
    ids=["long-history", "many-series"],
)
def test_a_valid_body_is_never_refused_from_its_prefix(raw):
    from paxcast.service.api.parsing import check_prefix

    check_prefix(raw)  # raises nothing: cut-off values and missing fields are not problems


def test_an_over_long_id_is_refused_without_being_echoed(client):
    body = {"series": [{"id": "x" * 100_000, "history": GOOD}], "horizon": 3}
    response = post(client, body)
    assert response.status_code == 422
    assert response.json() == {"detail": "series[0]: id: String should have at most 200 characters"}
