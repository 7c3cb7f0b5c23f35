"""Response bodies of the HTTP API, and the read-only bodies of the web page (the request is `core.request`)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from paxcast.service.core.contract import ModelCard
from paxcast.service.core.request import FiniteFloat

LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """`text` with each lone surrogate as U+FFFD: JSON's "\\udcff" escape reads as one (retrain writes a file
    name that is not UTF-8 so), and no UTF-8 response can carry it."""
    return LONE_SURROGATE.sub("\ufffd", text)


# A string read from a registry file and shown on the page: a string only (strict), and valid Unicode.
FileText = Annotated[str, Field(strict=True), AfterValidator(without_surrogates)]
# The page's bodies read from registry files are validated strictly: "80" is never taken for [8, 0] nor 80.
FROM_FILE = ConfigDict(strict=True)


class Interval(BaseModel):
    lower: list[float]
    upper: list[float]


class ForecastOut(BaseModel):
    id: str
    mean: list[float]
    timestamps: list[str] | None = Field(None, description="present when the series gave `start`")
    intervals: dict[str, Interval] | None = Field(None, description="present when the request gave `level`")


class ModelRef(BaseModel):
    name: str
    version: str


class ForecastResponse(BaseModel):
    model: ModelRef
    forecasts: list[ForecastOut]


class Problem(BaseModel):
    detail: str = Field(description="what was wrong, naming the series and the rule")


class ModelSummary(BaseModel):
    """One line of `GET /v1/models`."""

    name: str
    version: str | None = Field(description="the version served now; null when the model failed to load")
    default: bool = Field(description="answers POST /v1/forecast and GET /v1/model")
    status: str = Field(description="'ready', or why the model is not serving what CURRENT names")
    freq: str | None = None
    window: int | None = None
    min_history: int | None = Field(None, description="the shortest history accepted (shorter than the window: padded)")
    horizon: int | None = None
    cell: str | None = None
    layers: int | None = None
    intervals: bool = Field(False, description="the model carries a calibration: requests may ask for `level`")
    requires: list[str] = Field(default_factory=list, description="what each posted series must give")

    @classmethod
    def of(cls, name: str, card: ModelCard | None, problem: str | None, default: bool) -> ModelSummary:
        status = problem or "ready"
        if card is None:
            return cls(name=name, version=None, default=default, status=status)
        return cls(
            name=name,
            version=card.version,
            default=default,
            status=status,
            freq=card.freq,
            window=card.window,
            min_history=card.min_history,
            horizon=card.horizon,
            cell=card.cell,
            layers=card.layers,
            intervals=card.intervals is not None,
            requires=card.requires,
        )


class Readiness(BaseModel):
    status: str
    model: ModelRef = Field(description="the default model")
    models: list[ModelRef]


class SeriesEntry(BaseModel):
    """One series shipped with a model's data set."""

    id: str
    name: str = Field(
        description="display name from the data set's sidecar (stations.csv, sensors.csv); the id without one"
    )
    length: int = Field(description="grid points from the first to the last timestamp, missing ones included")
    start: str
    end: str


class SeriesCatalog(BaseModel):
    """`GET /v1/models/{name}/series`: the shipped series matching `q`; empty when the data set is not here."""

    model: str
    data_file: str = Field(description="the file the model was trained on (its card's data_file)")
    available: bool = Field(description="the file was found under PAXCAST_DATA_DIR and could be read")
    trained_on_this_file: bool | None = Field(None, description="the file found has the card's data_sha256")
    problem: str | None = Field(None, description="why a file that is present cannot be offered")
    total: int = Field(description="series matching the query; `series` holds the first `limit`")
    series: list[SeriesEntry]


class SeriesValues(BaseModel):
    """`GET /v1/models/{name}/series/{id}`: the last values of one shipped series, ready to post as `history`."""

    id: str
    name: str
    freq: str
    start: str = Field(description="timestamp of the first value (ISO date, or date-time for hourly data)")
    values: list[float | None] = Field(description="oldest first; null where the data set misses a timestamp")
    missing: int = Field(description="null values among `values`")


class HoldOut(BaseModel):
    model_config = FROM_FILE

    points: int | None = None
    horizon: int | None = None
    metric: FileText | None = None


class Contender(BaseModel):
    model_config = FROM_FILE

    version: FileText | None = None
    mape: FiniteFloat | None = None
    smape: FiniteFloat | None = None
    wape: FiniteFloat | None = None  # a global champion's hold-out: stations are judged by it
    mase: FiniteFloat | None = None  # and general models by this
    basis: FileText | None = None


class HistoryData(BaseModel):
    model_config = FROM_FILE

    file: FileText | None = None
    rows: int | None = None
    series: int | None = None
    through: dict[FileText, FileText] | None = None


class HistoryRecord(BaseModel):
    """One line of the registry's history.jsonl: a retrain's decision or a rollback."""

    model_config = FROM_FILE

    time: FileText
    event: FileText
    decision: FileText = Field(description="promoted, kept or rolled back")
    reason: FileText | None = None
    forced: bool | None = None
    current: FileText | None = Field(None, description="the version CURRENT named after this event")
    previous: FileText | None = None
    holdout: HoldOut | None = None
    challenger: Contender | None = None
    champion: Contender | None = None
    data: HistoryData | None = None
    duration_s: FiniteFloat | None = None


class ModelHistory(BaseModel):
    model: str
    records: list[HistoryRecord] = Field(description="newest first, at most `limit`")
    skipped: int = Field(
        0,
        description="lines passed over to find `records` (from the end of the file): torn, longer than 1 MiB, "
        "not JSON, or not a history record",
    )


class BacktestMethod(BaseModel):
    model_config = FROM_FILE

    name: FileText
    mape: FiniteFloat | None = Field(None, description="null where an actual is zero: MAPE is undefined there")
    wape: FiniteFloat | None = None
    smape: FiniteFloat | None = None
    mase: FiniteFloat | None = None
    rmse: FiniteFloat | None = None
    coverage: dict[str, FiniteFloat] = Field(
        default_factory=dict, description="level -> percent of actual values inside the interval"
    )


class ModelBacktest(BaseModel):
    """A `paxcast backtest --json` document kept in the registry as `<name>/backtest.json`, abridged."""

    model: str
    splits: FileText
    levels: list[int]
    methods: list[BacktestMethod]


class BacktestFile(BaseModel):
    """What the page reads of `<name>/backtest.json`: each method's row is read apart (`BACKTEST_ROW`)."""

    model_config = FROM_FILE

    splits: FileText = ""
    levels: list[Annotated[int, Field(gt=0, lt=100)]] = Field(default_factory=list, max_length=20)
    summary: dict[FileText, dict[str, Any]]
