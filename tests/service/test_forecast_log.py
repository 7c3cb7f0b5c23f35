"""Served forecasts are logged to the store by a background writer: exactly the numbers the response carries,
only for series with a start, never at the cost of a forecast (a full queue or a failing store drops and counts
rows), and not at all with PAXCAST_LOG_FORECASTS=false. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from prometheus_client import REGISTRY
from sqlalchemy import create_engine, event, select

from paxcast.service.store.schema import forecast_intervals, forecasts
from tests.serving import wait_until
from tests.stores import stored_count

DROPPED = "paxcast_store_dropped_rows_total"


def dropped() -> float:
    return REGISTRY.get_sample_value(DROPPED) or 0.0


def logged(store_url: str) -> tuple[list, list]:
    """Every forecast row (ordered by series, origin, step) and every bound row, as stored."""
    engine = create_engine(store_url)
    with engine.connect() as conn:
        rows = conn.execute(select(forecasts).order_by(forecasts.c.unique_id, forecasts.c.origin, forecasts.c.step))
        rows = rows.all()
        bounds = conn.execute(select(forecast_intervals).order_by(forecast_intervals.c.forecast_id)).all()
    engine.dispose()
    return rows, bounds


def count(url: str) -> int:
    return stored_count(url, forecasts)


def wait_for_rows(store_url: str, n: int) -> None:
    wait_until(lambda: count(store_url) >= n, 10, f"{n} forecast rows are logged")


def body(history, **extra) -> dict:
    return {
        "series": [
            {"id": "air", "history": history, "start": "1949-01-01"},
            {"id": "no-start", "history": history},
            {"id": "air-later", "history": history[12:], "start": "1950-01-01"},
        ],
        "horizon": 4,
        "level": [80, 95],
        **extra,
    }


def test_rows_hold_exactly_what_the_response_carries(make_client, store_url, air_history):
    client = make_client(store=store_url)
    response = client.post("/v1/forecast", json=body(air_history), headers={"X-Request-ID": "req-42"})
    assert response.status_code == 200, response.text
    answer = response.json()
    wait_for_rows(store_url, 8)
    rows, bounds = logged(store_url)
    expected = []
    for forecast in answer["forecasts"]:
        if "timestamps" not in forecast:
            continue
        for k, ds in enumerate(forecast["timestamps"]):
            expected.append((forecast["id"], dt.datetime.fromisoformat(ds), k + 1, forecast["mean"][k]))
    assert [(r.unique_id, r.ds, r.step, r.mean) for r in rows] == sorted(expected)
    assert {r.model for r in rows} == {answer["model"]["name"]}
    assert {r.version for r in rows} == {answer["model"]["version"]}
    assert {r.request_id for r in rows} == {"req-42"}
    # the origin is the last history timestamp: 1949-01 + 143 months, and 1950-01 + 131 months
    assert {r.unique_id: r.origin for r in rows} == {
        "air": dt.datetime(1960, 12, 1),
        "air-later": dt.datetime(1960, 12, 1),
    }
    assert all(
        dt.timedelta(0) <= dt.datetime.now(dt.UTC).replace(tzinfo=None) - r.created_at < dt.timedelta(minutes=1)
        for r in rows
    )
    by_id = {r.id: r for r in rows}
    served = {f["id"]: f for f in answer["forecasts"]}
    got = {(by_id[b.forecast_id].unique_id, by_id[b.forecast_id].step, b.level): (b.lower, b.upper) for b in bounds}
    want = {
        (name, k + 1, level): (
            served[name]["intervals"][str(level)]["lower"][k],
            served[name]["intervals"][str(level)]["upper"][k],
        )
        for name in ("air", "air-later")
        for level in (80, 95)
        for k in range(4)
    }
    assert got == want


def test_a_request_without_any_start_logs_nothing(make_client, store_url, air_history):
    client = make_client(store=store_url)
    plain = {"series": [{"id": "air", "history": air_history}], "horizon": 3}
    assert client.post("/v1/forecast", json=plain).status_code == 200
    marked = {"series": [{"id": "air", "history": air_history, "start": "1949-01-01"}], "horizon": 2}
    assert client.post("/v1/forecast", json=marked).status_code == 200
    wait_for_rows(store_url, 2)
    rows, _ = logged(store_url)
    assert [(r.unique_id, r.step) for r in rows] == [("air", 1), ("air", 2)]  # the first request left none


def test_an_answer_without_any_start_is_not_handed_to_the_log(make_client, store_url, air_history, monkeypatch):
    # It would log no row; building its entry (and reading the clock) on every such request cost the path outside
    # the model for nothing (issue 34).
    from paxcast.service.api import routes

    def handed(*args, **kwargs):
        raise AssertionError("an answer without any start was handed to the forecast log")

    client = make_client(store=store_url)
    monkeypatch.setattr(routes, "served", handed)
    plain = {"series": [{"id": "air", "history": air_history}], "horizon": 3}
    assert client.post("/v1/forecast", json=plain).status_code == 200


def test_logging_off_writes_nothing(make_client, store_url, air_history):
    client = make_client(store=store_url, log_forecasts=False, ingest_token="t")  # the store is open for actuals
    assert client.post("/v1/forecast", json=body(air_history)).status_code == 200
    assert client.app.state.forecast_log is None
    client.__exit__(None, None, None)  # a shutdown would flush anything queued
    assert count(store_url) == 0


def test_logging_off_and_no_ingest_token_starts_without_a_store(make_client, air_history):
    client = make_client(store="sqlite:////proc/no/such/store.sqlite", log_forecasts=False)
    assert client.app.state.store is None
    assert client.post("/v1/forecast", json=body(air_history)).status_code == 200


def test_a_full_queue_drops_and_counts_rows_and_the_forecast_still_answers(make_client, store_url, air_history):
    client = make_client(store=store_url, forecast_log_queue_rows=5)  # one request is 8 rows
    before = dropped()
    response = client.post("/v1/forecast", json=body(air_history))
    assert response.status_code == 200
    assert dropped() - before == 8
    client.__exit__(None, None, None)
    assert count(store_url) == 0


def test_rows_queued_at_shutdown_are_written(make_client, store_url, air_history):
    client = make_client(store=store_url)
    for _ in range(5):
        assert client.post("/v1/forecast", json=body(air_history)).status_code == 200
    client.__exit__(None, None, None)  # no wait: the shutdown flushes
    assert count(store_url) == 40


def test_a_locked_sqlite_store_costs_rows_not_forecasts_and_the_writer_recovers(make_client, tmp_path, air_history):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    client = make_client(store=url)
    forecast_log = client.app.state.forecast_log
    holder = create_engine(url, connect_args={"isolation_level": None})
    with holder.connect() as conn:
        # another process holds the write lock past the writer's busy timeout (shortened to keep the test fast)
        conn.exec_driver_sql("PRAGMA busy_timeout = 0")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        before = dropped()
        with busy_timeout(client.app.state.store, 50):
            started = dt.datetime.now()
            assert client.post("/v1/forecast", json=body(air_history)).status_code == 200
            assert dt.datetime.now() - started < dt.timedelta(seconds=1)
            wait_until(lambda: dropped() - before == 8, 10, "the writer drops the rows it cannot write")
        conn.exec_driver_sql("ROLLBACK")
    holder.dispose()
    assert client.post("/v1/forecast", json=body(air_history)).status_code == 200
    wait_for_rows(url, 8)
    assert forecast_log.written == 8


class busy_timeout:
    """Every new SQLite connection of `engine` waits `ms` for a lock instead of engine.BUSY_TIMEOUT_MS."""

    def __init__(self, engine, ms: int):
        self.engine, self.ms = engine, ms

    def set(self, dbapi_connection, _record) -> None:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {self.ms}")

    def __enter__(self):
        self.engine.dispose()  # pooled connections would keep the long timeout
        event.listen(self.engine, "connect", self.set)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "connect", self.set)
        self.engine.dispose()


def test_a_stopped_postgresql_costs_rows_not_forecasts_and_the_writer_recovers(make_client, air_history):
    from tests.postgres import controlled_cluster

    with controlled_cluster() as server:  # its own cluster: the session's must stay up for the other tests
        client = make_client(store=server.url)
        assert client.post("/v1/forecast", json=body(air_history)).status_code == 200
        wait_for_rows(server.url, 8)
        server.stop()
        before = dropped()
        started = dt.datetime.now()
        assert client.post("/v1/forecast", json=body(air_history)).status_code == 200
        assert dt.datetime.now() - started < dt.timedelta(seconds=1)
        wait_until(lambda: dropped() - before == 8, 10, "the writer drops the rows it cannot write")
        server.start()
        assert client.post("/v1/forecast", json=body(air_history)).status_code == 200
        wait_for_rows(server.url, 16)
        assert client.app.state.forecast_log.written == 16
