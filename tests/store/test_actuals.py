"""Writing actuals: the same (unique_id, ds) again replaces the value, new and replaced rows are counted
exactly on both backends, and a failed batch writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from paxcast.service.store.actuals import write_actuals
from paxcast.service.store.engine import open_store
from paxcast.service.store.rows import Actual
from paxcast.service.store.schema import actuals


def day(n: int) -> dt.datetime:
    return dt.datetime(2020, 9, 1) + dt.timedelta(days=n)


@pytest.fixture
def store(store_url):
    engine = open_store(store_url)
    yield engine
    engine.dispose()


def stored(engine) -> dict:
    with engine.connect() as conn:
        return {(r.unique_id, r.ds): r.y for r in conn.execute(select(actuals))}


def test_new_rows_are_inserted_and_counted(store):
    written = write_actuals(store, [Actual("A", day(0), 1.0), Actual("A", day(1), 2.0), Actual("B", day(0), 3.0)])
    assert (written.new, written.replaced) == (3, 0)
    assert stored(store) == {("A", day(0)): 1.0, ("A", day(1)): 2.0, ("B", day(0)): 3.0}


def test_the_same_key_again_replaces_the_value_and_is_counted_as_replaced(store):
    write_actuals(store, [Actual("A", day(0), 1.0), Actual("A", day(1), 2.0)])
    written = write_actuals(store, [Actual("A", day(1), 20.0), Actual("A", day(2), 30.0)])
    assert (written.new, written.replaced) == (1, 1)
    assert stored(store) == {("A", day(0)): 1.0, ("A", day(1)): 20.0, ("A", day(2)): 30.0}


def test_counts_stay_exact_across_batches(store):
    write_actuals(store, [Actual("A", day(n), float(n)) for n in range(0, 10, 2)])  # even days
    written = write_actuals(store, [Actual("A", day(n), -1.0) for n in range(10)], batch=3)
    assert (written.new, written.replaced) == (5, 5)
    assert set(stored(store).values()) == {-1.0}


def test_a_batch_that_fails_midway_writes_nothing(store):
    write_actuals(store, [Actual("A", day(0), 1.0)])
    # a repeated key is refused by PostgreSQL in one statement and by the y NOT NULL rule here for both:
    bad = [Actual("A", day(0), 5.0), Actual("B", day(0), 2.0), Actual("C", day(0), None)]
    with pytest.raises(DBAPIError):
        write_actuals(store, bad, batch=2)  # the first batch went through before the failure
    assert stored(store) == {("A", day(0)): 1.0}
