"""What an actual is: the rules a `unique_id,ds,y` row must meet, shared by `POST /v1/actuals` and
`paxcast actuals load` (the CSV file reader's rules, training/data.py, for one row: an id, an ISO date or
date-time, a finite number no larger than Y_LIMIT)."""

from __future__ import annotations

import datetime as dt
import math
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator

from paxcast.service.core.calendar import parse_timestamp
from paxcast.service.core.request import ID_MAX_LENGTH, FiniteFloat
from paxcast.service.core.text_files import Y_LIMIT  # training's bound: a larger value could never be trained on


class Actual(NamedTuple):
    """One observed value: series `unique_id` at timestamp `ds` (naive) was `y`."""

    unique_id: str
    ds: dt.datetime
    y: float


def parse_ds(text: str) -> dt.datetime:
    """An ISO date or date-time (a time zone is dropped, as the CSV reader drops it); ValueError names the rule."""
    try:
        return parse_timestamp(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO date or date-time (e.g. 2020-09-30 or 2020-09-30T08:00)") from None


def check_y(value: float) -> float:
    """`value` if it is finite and within ±Y_LIMIT; ValueError names the rule."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not finite")
    if abs(value) > Y_LIMIT:
        raise ValueError(f"{value!r} is beyond ±{Y_LIMIT:g}, the largest value training can use")
    return value


class ActualIn(BaseModel):
    """One row of `POST /v1/actuals`."""

    model_config = ConfigDict(extra="forbid")

    unique_id: str = Field(min_length=1, max_length=ID_MAX_LENGTH, strict=True, description="the series' id")
    ds: dt.datetime = Field(description="ISO date or date-time of the observation, e.g. 2020-09-30")
    y: FiniteFloat = Field(description="the observed value (a JSON number)")

    @field_validator("unique_id")
    @classmethod
    def no_outer_space(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError("must not start or end with whitespace")
        return value

    @field_validator("ds", mode="before")
    @classmethod
    def iso_text(cls, value: object) -> dt.datetime:
        if not isinstance(value, str):
            raise ValueError("must be an ISO date or date-time string, e.g. 2020-09-30")
        return parse_ds(value)

    @field_validator("y")
    @classmethod
    def bounded(cls, value: float) -> float:
        return check_y(value)


class ActualsIn(BaseModel):
    """The body of `POST /v1/actuals`: rows in the long format."""

    model_config = ConfigDict(extra="forbid")

    # fail_fast: a million bad rows cost one error, not a million (as for forecast histories)
    rows: list[ActualIn] = Field(min_length=1, fail_fast=True, description="unique_id, ds, y per row")


def first_repeat(rows: list[Actual]) -> tuple[int, int] | None:
    """(earlier index, later index) of the first (unique_id, ds) that appears twice, or None."""
    seen: dict[tuple[str, dt.datetime], int] = {}
    for index, row in enumerate(rows):
        key = (row.unique_id, row.ds)
        if key in seen:
            return seen[key], index
        seen[key] = index
    return None
