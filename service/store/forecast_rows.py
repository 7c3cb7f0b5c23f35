"""What a served forecast becomes in the store: `Served` (handed over by the route, O(1)) and, in the writer's
thread, the `forecasts` and `forecast_intervals` rows it expands to, built column by column.

The route must not pay for logging on the event loop, so `Served` only keeps references to what the
predictor computed already (its float32 arrays, the shared timestamp lists) and counts its rows with
`list.count`. Everything per number happens later, in `Columns.of`, with NumPy and C-level list
operations: a 584-station request, or a thousand one-series requests, is one `np.repeat` per column, not a loop
over 16,000 steps.

The numbers stored are the ones the response carries: orjson renders the float32 arrays in their
shortest form (responses.py), and `exact_floats` reads that same rendering back as Python floats, so
a stored mean compares equal to the JSON a client received. Only integer levels are logged: the
schema keys a bound by an integer `level` (schema.py), and clients ask for 80 and 95.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np
import orjson

from paxcast.service.core.calendar import step


@dataclass(frozen=True)
class Served:
    """One answered request, as the route hands it over: references, nothing computed.

    mean: (series, horizon) float32; intervals: level label -> (lower, upper), each like mean;
    timestamps: per series its horizon ISO timestamps, or None without a `start` (not logged)."""

    model: str
    version: str
    freq: str
    ids: list[str]
    mean: np.ndarray
    intervals: dict[str, tuple[np.ndarray, np.ndarray]]
    timestamps: list[list[str] | None]
    request_id: str | None
    created_at: dt.datetime  # UTC, naive
    rows: int  # forecast rows it becomes: logged series x horizon


def served(result, request_id: str | None, created_at: dt.datetime) -> Served:
    """A `ForecastResult` as a `Served` (inference's type, duck-typed: the store does not import inference)."""
    logged = len(result.timestamps) - result.timestamps.count(None)  # C-level: no loop per series here
    card = result.card
    return Served(
        model=card.name,
        version=card.version,
        freq=card.freq,
        ids=result.ids,
        mean=result.mean,
        intervals=result.intervals,
        timestamps=result.timestamps,
        request_id=request_id,
        created_at=created_at,
        rows=logged * result.mean.shape[1],
    )


def exact_floats(values: np.ndarray) -> list[float]:
    """float32 values as the floats their shortest rendering names (what the response carries), flat."""
    return orjson.loads(orjson.dumps(np.ravel(values), option=orjson.OPT_SERIALIZE_NUMPY))


def sql_time(value: dt.datetime) -> str:
    """SQLAlchemy's SQLite DateTime text (`2020-09-30 00:00:00.000000`), which PostgreSQL casts too: rows written
    from it compare equal to those SQLAlchemy writes (the actuals' `ds`, in scoring joins)."""
    return value.isoformat(sep=" ", timespec="microseconds")


def integer_levels(labels) -> list[tuple[str, int]]:
    return [(label, int(label)) for label in labels if label.isdigit()]


def shape_of(item: Served) -> tuple:
    """Items of one shape (model, version, frequency, horizon, levels) are expanded together."""
    return item.model, item.version, item.freq, item.mean.shape[1], tuple(item.intervals)


@dataclass
class Columns:
    """The rows of queued `Served` items, column by column (ids come at write time).

    Timestamps are `sql_time` text, rendered once per distinct value before the rows are expanded: converting
    16,000 datetimes in the writer held the GIL for ~60 ms per Seoul request."""

    model: list[str] = field(default_factory=list)
    version: list[str] = field(default_factory=list)
    unique_id: list[str] = field(default_factory=list)
    origin: list[str] = field(default_factory=list)
    ds: list[str] = field(default_factory=list)
    step: list[int] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    request_id: list[str | None] = field(default_factory=list)
    created_at: list[str] = field(default_factory=list)
    # per integer level and shape: the positions (into the columns above) of its rows, and their bounds
    bounds: list[tuple[int, np.ndarray, list[float], list[float]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.mean)

    @classmethod
    def of(cls, items: list[Served]) -> Columns:
        """The rows of `items`: one per logged series and step. Items of one shape are stacked and expanded
        with one NumPy call per column, so a thousand one-series requests cost about what one request does."""
        columns = cls()
        shapes: dict[tuple, list[Served]] = {}
        for item in items:
            shapes.setdefault(shape_of(item), []).append(item)
        for group in shapes.values():
            columns.add(group)
        return columns

    def add(self, items: list[Served]) -> None:
        """Append the rows of `items`, all of one shape."""
        model, version, freq, horizon, labels = shape_of(items[0])
        picked, ids, stamps, request_ids, created = [], [], [], [], []
        for item in items:
            rows = [i for i, series in enumerate(item.timestamps) if series is not None]
            picked.append(rows)
            ids.extend(item.ids[i] for i in rows)
            stamps.extend(item.timestamps[i] for i in rows)
            request_ids.extend(repeat(item.request_id, len(rows)))
            created.extend(repeat(sql_time(item.created_at), len(rows)))
        if not ids:
            return
        # series whose forecasts start at the same timestamp share their timestamps (one shape, one horizon):
        # each distinct first timestamp is parsed once, and every series points at its group
        groups: dict[str, int] = {}
        parsed: list[list[str]] = []  # sql_time text
        group_of = np.empty(len(stamps), dtype=np.intp)
        for k, series in enumerate(stamps):
            g = groups.get(series[0])
            if g is None:
                g = groups[series[0]] = len(parsed)
                parsed.append([sql_time(dt.datetime.fromisoformat(text)) for text in series])
            group_of[k] = g
        ds = np.empty((len(parsed), horizon), dtype=object)
        ds[:] = parsed
        origins = np.array(
            [sql_time(step(dt.datetime.fromisoformat(series[0]), freq, -1)) for series in parsed], dtype=object
        )

        def stacked(arrays) -> np.ndarray:  # the logged series' rows of every item, (series, horizon)
            return np.concatenate([a[rows] for a, rows in zip(arrays, picked, strict=True)])

        n = len(ids) * horizon
        positions = np.arange(len(self.mean), len(self.mean) + n)
        self.model.extend(repeat(model, n))
        self.version.extend(repeat(version, n))
        self.unique_id.extend(np.repeat(np.asarray(ids, dtype=object), horizon).tolist())
        self.origin.extend(np.repeat(origins[group_of], horizon).tolist())
        self.ds.extend(ds[group_of].ravel().tolist())
        self.step.extend(np.tile(np.arange(1, horizon + 1), len(ids)).tolist())
        self.mean.extend(exact_floats(stacked(item.mean for item in items)))
        self.request_id.extend(np.repeat(np.asarray(request_ids, dtype=object), horizon).tolist())
        self.created_at.extend(np.repeat(np.asarray(created, dtype=object), horizon).tolist())
        for label, level in integer_levels(labels):
            lower = exact_floats(stacked(item.intervals[label][0] for item in items))
            upper = exact_floats(stacked(item.intervals[label][1] for item in items))
            self.bounds.append((level, positions, lower, upper))
