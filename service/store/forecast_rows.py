"""What a served forecast becomes in the store: `Served` (handed over by the route, O(1)) and, in the writer's
thread, the `forecasts` and `forecast_intervals` rows it expands to, built column by column.

The route must not pay for logging on the event loop, so `Served` only keeps references to what the
predictor computed already (its float32 arrays, the shared timestamp lists) and counts its rows with
`list.count`. Everything per number happens later, in `Columns.of`, with NumPy and C-level list
operations: a 584-station request is one `np.repeat` per column, not a loop over 16,000 steps.

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


def integer_levels(labels) -> list[tuple[str, int]]:
    return [(label, int(label)) for label in labels if label.isdigit()]


@dataclass
class Columns:
    """The rows of one or more `Served`, column by column, ready for executemany (ids come at write time).

    Timestamps are datetime objects; the writer renders them per dialect (forecast_writes.py)."""

    model: list[str] = field(default_factory=list)
    version: list[str] = field(default_factory=list)
    unique_id: list[str] = field(default_factory=list)
    origin: list[dt.datetime] = field(default_factory=list)
    ds: list[dt.datetime] = field(default_factory=list)
    step: list[int] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    request_id: list[str | None] = field(default_factory=list)
    created_at: list[dt.datetime] = field(default_factory=list)
    # per integer level: the positions (into the columns above) of its rows, and their bounds
    bounds: list[tuple[int, np.ndarray, list[float], list[float]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.mean)

    def add(self, item: Served) -> None:
        """Append `item`'s rows: one per logged series and step."""
        rows = [i for i, stamps in enumerate(item.timestamps) if stamps is not None]
        if not rows:
            return
        horizon = item.mean.shape[1]
        # series sharing a start and history length share one timestamp list (predictor.timestamps_of):
        # each distinct list is parsed once, and every series points at its group
        groups: dict[int, int] = {}
        parsed: list[list[dt.datetime]] = []
        group_of = np.empty(len(rows), dtype=np.intp)
        for k, row in enumerate(rows):
            stamps = item.timestamps[row]
            g = groups.get(id(stamps))
            if g is None:
                g = groups[id(stamps)] = len(parsed)
                parsed.append([dt.datetime.fromisoformat(text) for text in stamps])
            group_of[k] = g
        ds = np.empty((len(parsed), horizon), dtype=object)
        ds[:] = parsed
        origins = np.array([step(stamps[0], item.freq, -1) for stamps in parsed], dtype=object)
        offset, n = len(self.mean), len(rows) * horizon
        index = np.asarray(rows, dtype=np.intp)
        self.model.extend(repeat(item.model, n))
        self.version.extend(repeat(item.version, n))
        self.unique_id.extend(np.repeat(np.asarray(item.ids, dtype=object)[index], horizon).tolist())
        self.origin.extend(np.repeat(origins[group_of], horizon).tolist())
        self.ds.extend(ds[group_of].ravel().tolist())
        self.step.extend(np.tile(np.arange(1, horizon + 1), len(rows)).tolist())
        self.mean.extend(exact_floats(item.mean[index]))
        self.request_id.extend(repeat(item.request_id, n))
        self.created_at.extend(repeat(item.created_at, n))
        positions = np.arange(offset, offset + n)
        for label, level in integer_levels(item.intervals):
            lower, upper = item.intervals[label]
            self.bounds.append((level, positions, exact_floats(lower[index]), exact_floats(upper[index])))
