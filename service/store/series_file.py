"""A model's series, out of the store into a `unique_id,ds,y` file: what `paxcast retrain --store` trains on.

The store is exported to a file, not handed to training as rows, so retraining from the store is retraining
from a file: the same reader with the same rules (training/data.py), and history.jsonl's sha256 names
exactly the data a version saw. The export is read in one snapshot (`engine.reading`), streamed in
(unique_id, ds) order, never held whole.

Which series are the model's: the actuals table is shared by every model, so a model's series are the
ids it has served forecasts for (the `forecasts` log) and the ids its champion was trained on (the
`data.through` of the newest history.jsonl record that has one); an id with no actuals is skipped.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Engine, select

from paxcast.service.store.engine import reading
from paxcast.service.store.schema import actuals, forecasts

IDS_PER_QUERY = 500  # well under SQLite's 32,766 parameters
ROWS_PER_FETCH = 10_000


def served_ids(engine: Engine, model: str) -> set[str]:
    """The ids `model` has served forecasts for (logged with an id and a start)."""
    with reading(engine) as conn:
        return set(conn.execute(select(forecasts.c.unique_id).where(forecasts.c.model == model).distinct()).scalars())


def write_series_file(engine: Engine, ids: Iterable[str], path: str | Path) -> int:
    """Write the stored actuals of `ids` to `path` (gzip when it ends in .gz) in (unique_id, ds) order; the
    number of rows written."""
    ordered = sorted(set(ids))
    rows = 0
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8", newline="") as handle, reading(engine) as conn:
        writer = csv.writer(handle)
        writer.writerow(("unique_id", "ds", "y"))
        for start in range(0, len(ordered), IDS_PER_QUERY):
            query = (
                select(actuals.c.unique_id, actuals.c.ds, actuals.c.y)
                .where(actuals.c.unique_id.in_(ordered[start : start + IDS_PER_QUERY]))
                .order_by(actuals.c.unique_id, actuals.c.ds)
            )
            for chunk in conn.execution_options(yield_per=ROWS_PER_FETCH).execute(query).partitions():
                writer.writerows((unique_id, ds.isoformat(), repr(y)) for unique_id, ds, y in chunk)
                rows += len(chunk)
    return rows
