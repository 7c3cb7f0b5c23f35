"""The registry files the page's routes read, history.jsonl and backtest.json, are not trusted (issue 30).

A bad history line is skipped and counted, a huge history is read from its end, a bad backtest.json is
a 404 naming the field and the rule, and a file the system refuses to read is a 404 with its reason.
"""

from __future__ import annotations

import json
import os
import tracemalloc

import pytest
from web_data import HISTORY_LINES

from paxcast.service.core.history import read_history

GOOD = json.dumps(HISTORY_LINES[1])  # a promotion: the newest of the two records
OLDER = json.dumps(HISTORY_LINES[0])
AS_ROOT = os.geteuid() == 0


def history_body(client, registry, *lines: str, limit: int = 100) -> dict:
    (registry / "air_passengers" / "history.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    response = client.get("/v1/models/air_passengers/history", params={"limit": limit})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    "bad",
    [
        '{"time": "t", "event": "retrain", "decision": "kept", "forced": ' + "1" * 5000 + "}",
        '{"time": "t", "event": "retrain", "decision": "kept", "duration_s": 1e999}',
        "[" * 100_000 + "]" * 100_000,
        '{"time": "t", "event": "retrain", "decision": "kept", "data": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"time": "t", "event": "retrain", "decision": "kept", "holdout": "80"}',
        '{"time": "t", "event": "retrain", "decision": "kept", "forced": "yes"}',
        '{"time": "t", "event": "retrain", "decision": "kept", "data": {"rows": 1.5}}',
        '{"time": "t", "event": "retrain", "decision": "kept", "reason": "' + "x" * 2_000_000 + '"}',
        '["a JSON list, not a record"]',
        '{"time": "2026-11-0',
    ],
    ids=[
        "5000-digit-int",
        "infinite",
        "deep-list",
        "deep-field",
        "string-for-object",
        "string-for-bool",
        "float-for-int",
        "over-1-MiB",
        "not-an-object",
        "torn",
    ],
)
def test_a_history_line_the_page_cannot_show_is_skipped_and_counted(registry, client, bad):
    body = history_body(client, registry, OLDER, bad, GOOD)
    assert [r["decision"] for r in body["records"]] == ["promoted", "kept"]
    assert body["skipped"] == 1


def test_a_lone_surrogate_in_history_is_shown_as_a_replacement_character(registry, client):
    # `paxcast retrain --data` records a file name that is not UTF-8 with its surrogate escapes, as JSON writes them
    record = {**HISTORY_LINES[0], "data": {"file": "incoming/\udcff.csv"}, "reason": "why \ud800"}
    body = history_body(client, registry, json.dumps(record))
    (shown,) = body["records"]
    assert (shown["data"]["file"], shown["reason"], body["skipped"]) == ("incoming/\ufffd.csv", "why \ufffd", 0)


def test_retrain_and_the_page_skip_the_same_lines(registry, client):
    lines = [
        OLDER,
        '{"n": ' + "9" * 5000 + "}",
        "[" * 100_000 + "]" * 100_000,
        json.dumps({**HISTORY_LINES[0], "reason": "x" * 2_000_000}),
        "",
        GOOD,
        '{"time": "2026-11-0',
    ]
    body = history_body(client, registry, *lines)
    assert [r["decision"] for r in read_history(registry, "air_passengers")] == ["kept", "promoted"]
    assert ([r["decision"] for r in body["records"]], body["skipped"]) == (["promoted", "kept"], 4)


def test_history_limit_keeps_the_newest(registry, client):
    body = history_body(client, registry, OLDER, "{torn", GOOD, limit=1)
    assert ([r["decision"] for r in body["records"]], body["skipped"]) == (["promoted"], 0)


def test_a_huge_history_is_read_from_its_end_not_whole(registry, client):
    path = registry / "air_passengers" / "history.jsonl"
    path.write_text((OLDER + "\n") * 40_000 + GOOD + "\n")  # 24 MB
    assert path.stat().st_size > 20e6
    tracemalloc.start()
    try:
        body = client.get("/v1/models/air_passengers/history", params={"limit": 5}).json()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [r["decision"] for r in body["records"]] == ["promoted"] + ["kept"] * 4
    assert peak < 4e6, f"peak {peak / 1e6:.1f} MB for a 24 MB history.jsonl"


def test_an_unreadable_history_is_404_naming_the_file(registry, client):
    (registry / "air_passengers" / "history.jsonl").mkdir()  # an OSError on open, for root too
    response = client.get("/v1/models/air_passengers/history")
    assert (response.status_code, response.json()) == (
        404,
        {
            "detail": "model 'air_passengers': history.jsonl in the registry cannot be read "
            "(not a regular file: a directory)"
        },
    )


def test_a_model_folder_gone_bad_is_404_for_history_and_backtest(registry, client):
    folder = registry / "air_passengers"
    folder.rename(registry / "moved")
    folder.write_text("not a folder")  # the served model stays loaded; its folder is now a file
    for route, file in (("history", "history.jsonl"), ("backtest", "backtest.json")):
        response = client.get(f"/v1/models/air_passengers/{route}")
        assert (response.status_code, response.json()) == (
            404,
            {"detail": f"model 'air_passengers': {file} in the registry cannot be read (Not a directory)"},
        )


@pytest.mark.skipif(AS_ROOT, reason="root reads a file whatever its mode; the directory cases above run as root")
def test_a_history_without_read_permission_is_404(registry, client):
    path = registry / "air_passengers" / "history.jsonl"
    path.write_text(GOOD + "\n")
    path.chmod(0)
    response = client.get("/v1/models/air_passengers/history")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": "model 'air_passengers': history.jsonl in the registry cannot be read (Permission denied)"},
    )


BACKTEST = {
    "data": "data/air_passengers.csv",
    "splits": "hold-out: the last 36 values",
    "levels": [80, 95],
    "summary": {"LSTM (paxcast)": {"mape": 4.1, "coverage80": 81.0, "coverage95": 94.0, "splits": []}},
}


def backtest_response(registry, client, text: str | bytes):
    path = registry / "air_passengers" / "backtest.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return client.get("/v1/models/air_passengers/backtest")


def with_field(**fields) -> str:
    return json.dumps({**BACKTEST, **fields})


@pytest.mark.parametrize(
    "text, reason",
    [
        (
            json.dumps(BACKTEST).replace("[80, 95]", "[" + "8" * 5000 + "]"),
            "a number has more than 4300 digits",
        ),
        (json.dumps(BACKTEST).replace("[80, 95]", "[1e999]"), "levels[0]: Input should be a valid integer"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply to read"),
        (json.dumps(BACKTEST)[:-1] + ', "runs": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply to read"),
        (with_field(levels="80"), "levels: Input should be a valid list"),
        (with_field(levels=[True]), "levels[0]: Input should be a valid integer"),
        (with_field(levels=[80.5]), "levels[0]: Input should be a valid integer"),
        (with_field(levels=[100]), "levels[0]: Input should be less than 100"),
        (with_field(splits=5), "splits: Input should be a valid string"),
        (with_field(summary=[]), "summary: Input should be a valid dictionary"),
        (with_field(summary={"m": "fast"}), "summary['m']: Input should be a valid dictionary"),
        (with_field(summary={"m": {"mape": "4.1"}}), "summary['m'].mape: Input should be a valid number"),
        (with_field(summary={"m": {"rmse": 1e999}}), "summary['m'].rmse: Input should be a finite number"),
        (with_field(summary={"m": {"coverage80": "81"}}), "summary['m'].coverage80: Input should be a valid number"),
        ("[]", "not a JSON object"),
        ("{not json", "not JSON: Expecting property name enclosed in double quotes (line 1, column 2)"),
        (b'{"splits": "\xff"}', "not UTF-8 (byte 0xff at offset 12)"),
    ],
    ids=[
        "5000-digit-int",
        "infinite-level",
        "deep-document",
        "deep-field",
        "string-for-levels",
        "bool-level",
        "fractional-level",
        "level-100",
        "number-for-splits",
        "list-for-summary",
        "string-for-a-method",
        "string-for-a-score",
        "infinite-score",
        "string-for-coverage",
        "not-an-object",
        "not-json",
        "not-utf8",
    ],
)
def test_a_backtest_the_page_cannot_trust_is_404_with_the_reason(registry, client, text, reason):
    response = backtest_response(registry, client, text)
    assert (response.status_code, response.json()) == (
        404,
        {"detail": f"model 'air_passengers': backtest.json in the registry cannot be read: {reason}"},
    )


def test_a_lone_surrogate_in_a_backtest_is_shown_as_a_replacement_character(registry, client):
    text = with_field(splits="from \udcff.csv", summary={"LSTM \ud800": BACKTEST["summary"]["LSTM (paxcast)"]})
    response = backtest_response(registry, client, text)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["splits"], body["methods"][0]["name"]) == ("from \ufffd.csv", "LSTM \ufffd")


def test_a_backtest_that_is_a_directory_is_404(registry, client):
    (registry / "air_passengers" / "backtest.json").mkdir()
    response = client.get("/v1/models/air_passengers/backtest")
    assert (response.status_code, response.json()) == (
        404,
        {
            "detail": "model 'air_passengers': backtest.json in the registry cannot be read "
            "(not a regular file: a directory)"
        },
    )
