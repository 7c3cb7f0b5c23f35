"""The forecast request: what a caller asks of a model, over HTTP or from a backtest through `Predictor`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationInfo, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from paxcast.service.core.contract import Freq

# strict: a JSON number only (true and "1" are not values); integers are numbers.
ID_MAX_LENGTH = 200  # a longer id is refused, and error messages name its series by position instead

FiniteFloat = Annotated[float, Field(allow_inf_nan=False, strict=True)]


def iso_timestamp(value: object) -> dt.date | dt.datetime:
    """An ISO date ("2019-12-01") or date-time ("2015-01-31T08:00") string; nothing else (0 is not a date)."""
    why = ""
    try:
        if isinstance(value, str):
            return dt.date.fromisoformat(value) if len(value) == 10 else dt.datetime.fromisoformat(value)
    except ValueError as exc:
        why = f" ({exc})"
    raise PydanticCustomError(
        "timestamp",
        "Input should be an ISO date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM) string{why}",
        {"why": why},
    )


Timestamp = Annotated[
    dt.date | dt.datetime,
    PlainValidator(iso_timestamp),
    WithJsonSchema({"type": "string", "examples": ["2019-12-01", "2015-01-31T08:00"]}),
]


class SeriesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=ID_MAX_LENGTH, description="caller's name for the series, echoed back")
    # fail_fast: a list stops at its first bad item, so a body of a million wrong values costs
    # one error, not a million (service/api/parsing.py). strict: 0 is not a date, true not a horizon.
    history: list[FiniteFloat] = Field(
        min_length=1, fail_fast=True, description="observed values, oldest first, in original units"
    )
    start: Timestamp | None = Field(
        None,
        description="timestamp of the first history value: an ISO date, or date-time for hourly models; adds "
        "timestamps to the forecast, and calendar-aware models require it",
    )

    @field_validator("id", mode="before")
    @classmethod
    def remember_id(cls, value: object, info: ValidationInfo) -> object:
        """Note each series' id as it is read, so an error further on can name its series without a second parse."""
        if isinstance(info.context, dict) and isinstance(info.context.get("ids"), list):
            info.context["ids"].append(value)
        return value


class ForecastRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "series": [
                        {
                            "id": "air",
                            "history": [
                                360.0,
                                342.0,
                                406.0,
                                396.0,
                                420.0,
                                472.0,
                                548.0,
                                559.0,
                                463.0,
                                407.0,
                                362.0,
                                405.0,
                            ]
                            * 3,
                            "start": "1958-01-01",
                        }
                    ],
                    "horizon": 12,
                    "level": [80, 95],
                }
            ]
        },
    )

    series: list[SeriesIn] = Field(
        min_length=1, fail_fast=True, description="one or more series, forecast as one batch"
    )
    horizon: int = Field(ge=1, strict=True, description="steps to forecast, at most the model's horizon")
    level: list[FiniteFloat] | None = Field(
        None, max_length=20, fail_fast=True, description="prediction-interval levels in percent, each in (0, 100)"
    )
    freq: Freq | None = Field(
        None,
        description="the series' frequency (MS monthly, QS quarterly, ...): POST /v1/forecast then answers with "
        "the model served for it (general_monthly, general_quarterly), and a model of another frequency refuses",
    )
