"""The model contract: one typed card per model version, the ONNX tensor names, and the one way to read a card.

Training builds a `ModelCard` and the registry writes `card.model_dump_json()`; the
service, `paxcast retrain`, `paxcast models` and the backtest read a version only
through `read_card`, which refuses anything incomplete, out of range or not matching
its hashes with one line naming the file. `paxcast.service.inference.predictor.Predictor.load`
adds the onnxruntime checks on top; it is the one load check both sides run (`check_servable`).

Like nanoGPT's checkpoint, the card's `hyperparameters` (`paxcast.service.core.hyperparameters`) rebuild the model: the
fields the served shape repeats at the top level (`window`, `horizon`, …) are
computed from them, never stored twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    computed_field,
    field_validator,
    model_serializer,
    model_validator,
)

from paxcast.service.core.calendar import DEFAULT_SEASON
from paxcast.service.core.card_text import check_file_name, lone_surrogate
from paxcast.service.core.exceptions import ModelError
from paxcast.service.core.files import read_regular, shown
from paxcast.service.core.hyperparameters import Frozen, GlobalTrainConfig, Hyperparameters, Transform, one_line
from paxcast.service.core.migration import CARD_VERSION, migrate

HISTORY, FORECAST = "history", "forecast"  # the ONNX graph's input and output tensors
CALENDAR = "calendar"  # a calendar-aware graph's second input: (batch, window + horizon, covariates)
OPSET = 17
CARD_FILE, ONNX_FILE = "model.json", "model.onnx"
# A model name is one directory of the registry: no separators, no "..", nothing hidden.
MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"

Freq = Literal["MS", "QS", "YS", "W", "D", "h"]
# A calibration score is |actual - forecast| over the forecast, the window's level or its seasonal-naive error.
# The shipped cards hold at most 49.8 (the hourly pedestrian model at night, over the window's level; the
# others 0.14-12.8): 1000, twenty times that, is the bound. A larger score says the error was a thousand times
# the series' scale, a calibration no band should come from; 1e300 made every `level` request a 422.
MAX_RELATIVE_ERROR = 1000.0
Score = Annotated[float, Field(ge=0, le=MAX_RELATIVE_ERROR, allow_inf_nan=False)]


def shape_field(name: str, kind: type) -> Any:
    """A computed, read-only top-level field that reads `hyperparameters.<name>`."""
    return computed_field(property(lambda card: getattr(card.hyperparameters, name)), return_type=kind)


class TrainingFacts(Frozen):
    series: int
    rows: int
    windows: int
    validation_windows: int
    member_best_epochs: list[int]
    seconds: float
    seconds_with_inner_validation: float | None = None
    best_step: int | None = None  # global models: the optimiser step whose checkpoint was kept
    peak_rss_mb: float | None = None
    load_average: float | None = None  # the host's 1-minute load when training ended: it scales `seconds`
    missing: int | None = None  # grid points without a value in the training file (masked, never filled)
    short_series: int | None = None  # series too short for one training window: skipped, not refused


class Validation(Frozen):
    loss: float
    mape: float | None  # None where actuals are zero (station nights): MAPE is undefined there
    baseline_mape: float | None
    baseline: str
    wape: float | None = None  # pooled |error| / pooled |actual|, percent (global models)
    baseline_wape: float | None = None
    mase: float | None = None  # mean over validation windows of MAE / the window's seasonal-naive MAE (global)
    baseline_mase: float | None = None


class Candidate(Frozen):
    """One design compared by inner validation, with its pooled inner MAPE and WAPE (percent)."""

    window: int
    hidden: int
    dropout: float
    transform: Transform
    augment: float
    weight_decay: float
    mape: float | None  # None where WAPE ranked: an inner actual was zero or negative
    baseline_mape: float | None
    wape: float | None = None  # None on cards written before WAPE was recorded
    baseline_wape: float | None = None


class Selection(Frozen):
    method: str
    inner_origins: list[int]
    candidates: list[Candidate]
    chosen: Candidate | None
    network: str  # "on", or "off: <why>" when the guard switched the network off


class OnnxFacts(Frozen):
    input: Literal["history"] = HISTORY
    calendar: Literal["calendar"] | None = None  # the second input of a calendar-aware graph
    output: Literal["forecast"] = FORECAST
    opset: int = OPSET
    parity_max_rel_error: float = Field(ge=0.0)


class Calibration(Frozen):
    """Out-of-sample relative errors per horizon step; the service turns them into intervals."""

    method: str
    tail: Literal["exponential"] | None = None
    # What an error is relative to: the forecast (|a - f| / |f|), the history window's mean |value|
    # (|a - f| / level), which stays finite where forecasts are zero (a station at night), or the window's
    # seasonal-naive error (general models: smooth series get narrow bands); see intervals.window_scale.
    scale: Literal["forecast", "level", "mase"] = "forecast"
    # A later step at least as wide as an earlier one: right for a handful of inner scores per step;
    # a global model has hundreds per step, and an hourly model's night steps must stay narrower than its peaks.
    monotone: bool = True
    floor: float | None = None  # neither the forecast nor a bound goes below it: 0 for counts (no negative in training)
    inner_origins: list[int]
    relative_errors: list[list[Score]]
    network_on: bool


class CalendarSpec(Frozen):
    """The future-known covariates a calendar-aware graph reads, rebuilt by `core.covariates.Calendar`."""

    names: list[str]  # the graph's calendar columns, in order; the service checks it rebuilds the same
    country: str | None = None  # holidays from the `holidays` package
    subdiv: str | None = None
    holidays: list[dt.date] | None = None  # or the dates of the holiday file it was trained with, embedded
    workdays: list[dt.date] | None = None  # and that file's make-up workdays (rows of type "workday")
    holiday_file: str | None = None  # that file's name, for readers

    @field_validator("holiday_file")
    @classmethod
    def plain_holiday_file(cls, holiday_file: str | None) -> str | None:
        return check_file_name(holiday_file)

    @model_validator(mode="after")
    def workdays_come_from_a_file(self) -> Self:
        if self.workdays and self.holidays is None:
            raise ValueError("workdays are a holiday file's dates: a card with them embeds the file's holidays too")
        return self

    @model_serializer(mode="wrap")
    def without_empty_workdays(self, handler: SerializerFunctionWrapHandler):  # unannotated: as without_default_base
        """A calendar without make-up workdays is written as before they existed: every card trained on a country
        or a file without them keeps its covariates byte for byte."""
        out = handler(self)
        if not out.get("workdays"):
            out.pop("workdays", None)
        return out


class ModelCard(Frozen):
    """model.json: what one registered version is, how it was made, and how to call it."""

    card_version: Literal[3] = CARD_VERSION
    name: str = Field(pattern=MODEL_NAME)
    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,99}$")
    created_at: str
    freq: Freq
    hyperparameters: Hyperparameters
    covariates: CalendarSpec | None = None
    training: TrainingFacts
    validation: Validation
    selection: Selection
    onnx: OnnxFacts
    intervals: Calibration | None = None
    data_file: str
    data_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    onnx_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    # The served shape, repeated at the top level of model.json for readers; computed, never stored twice.
    window = shape_field("window", int)
    horizon = shape_field("horizon", int)
    season = shape_field("season", int)
    cell = shape_field("cell", str)
    layers = shape_field("layers", int)
    transform = shape_field("transform", str)
    ensemble = shape_field("ensemble", int)

    @computed_field
    @property
    def positive_only(self) -> bool:
        """A log-transformed graph cannot take zeros or negatives."""
        return self.hyperparameters.transform == "log"

    @property
    def min_history(self) -> int:
        """The shortest history a request may post: the window, or less for a graph that masks padding."""
        return self.hyperparameters.shortest if self.is_global else self.window

    @property
    def requires(self) -> list[str]:
        """What a request must give per series for this model."""
        return [HISTORY, "start"] if self.covariates is not None else [HISTORY]

    @property
    def is_global(self) -> bool:
        return isinstance(self.hyperparameters, GlobalTrainConfig)

    @property
    def network_on(self) -> bool:
        return self.selection.network == "on"

    @model_validator(mode="before")
    @classmethod
    def drop_computed(cls, data: Any) -> Any:
        """The computed fields come back when a card is read; they must agree with the hyperparameters."""
        if not isinstance(data, dict) or not isinstance(data.get("hyperparameters"), dict):
            return data
        data = dict(data)
        params = data["hyperparameters"]
        for key in ("window", "horizon", "season", "cell", "layers", "transform", "ensemble"):
            if key not in data:
                continue
            value = data.pop(key)
            if key in params and value != params[key]:
                raise ValueError(f"{key} differs from hyperparameters.{key}")
        data.pop("positive_only", None)
        return data

    @field_validator("created_at")
    @classmethod
    def iso_time(cls, created_at: str) -> str:
        dt.datetime.fromisoformat(created_at)  # ValueError names the field
        return created_at

    @field_validator("data_file")
    @classmethod
    def plain_data_file(cls, data_file: str) -> str:
        return check_file_name(data_file)

    @field_validator("freq")
    @classmethod
    def known_freq(cls, freq: str) -> str:
        if freq not in DEFAULT_SEASON:
            raise ValueError(f"unknown frequency {freq!r}")
        return freq

    @model_validator(mode="after")
    def covariates_match_the_graph(self) -> Self:
        features = getattr(self.hyperparameters, "features", 0)
        names = self.covariates.names if self.covariates else []
        if len(names) != features:
            raise ValueError(f"covariates.names lists {len(names)} columns; hyperparameters.features is {features}")
        if not (self.onnx.calendar is not None) == (self.covariates is not None) == self.is_global:
            raise ValueError("a global model has covariates and onnx.calendar; a per-series model has neither")
        return self

    @model_validator(mode="after")
    def calibration_covers_the_horizon(self) -> Self:
        errors = self.intervals.relative_errors if self.intervals else None
        if errors is not None and (len(errors) < self.horizon or not all(errors[: self.horizon])):
            raise ValueError(f"intervals.relative_errors must hold {self.horizon} non-empty lists of scores >= 0")
        return self

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


def sha256_of(path: str | Path) -> str:
    """The file's sha256, streamed: model and data files may be larger than memory should hold."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_card(text: str | bytes, source: str) -> ModelCard:
    """A card from model.json text; ModelError naming `source` and the first broken rule."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ModelError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{source}: expected a JSON object")
    try:
        found = lone_surrogate(data)
    except RecursionError:
        raise ModelError(f"{source}: nested too deeply") from None
    if found is not None:  # JSON may spell one ("\\udcff"); no response could carry it
        where, char = found
        raise ModelError(f"{source}: {where} holds a lone surrogate ({ascii(char)[1:-1]}); a card must be UTF-8 text")
    try:
        return ModelCard.model_validate(migrate(data))
    except ValueError as exc:  # pydantic's ValidationError, or migrate's refusal
        text = one_line(exc) if isinstance(exc, ValidationError) else str(exc)
        raise ModelError(f"{source}: {text}") from None


def read_card(
    version_dir: str | Path, verify_hash: bool = True, version: str | None = None, root: str | Path | None = None
) -> ModelCard:
    """The checked card of a version directory.

    Refuses a directory that is a symbolic link (a registry must not serve files from
    elsewhere), a card that is incomplete, out of range or names another version than
    its directory (`version`, default the directory's name), and, with `verify_hash`,
    a model.onnx whose sha256 differs from the card's. Messages name files relative to the
    registry `root` when it is given (what a client may see), else in full (the CLI).
    """
    version_dir = Path(version_dir)
    if version_dir.is_symlink():
        raise ModelError(
            f"{shown(version_dir, root)}: is a symbolic link; a version must be a directory inside the registry"
        )
    card_path = version_dir / CARD_FILE
    try:
        text = read_regular(card_path)
    except OSError as exc:
        raise ModelError(f"{shown(card_path, root)}: cannot read ({exc.strerror})") from None
    card = parse_card(text, shown(card_path, root))
    expected = version or version_dir.name
    if card.version != expected:
        raise ModelError(f"{shown(card_path, root)}: names version {card.version!r} but lives in {expected!r}")
    if verify_hash:
        read_onnx(version_dir, card, root)
    return card


def read_onnx(version_dir: str | Path, card: ModelCard, root: str | Path | None = None) -> bytes:
    """The bytes of the version's model.onnx, a regular file (not a link) whose sha256 is the card's.

    The service loads its session from these very bytes, so the graph it checked is the graph it serves.
    """
    onnx_path = Path(version_dir) / ONNX_FILE
    try:
        graph = read_regular(onnx_path, follow_symlinks=False)
    except OSError as exc:
        raise ModelError(f"{shown(onnx_path, root)}: missing or unreadable ({exc.strerror})") from None
    if (actual := hashlib.sha256(graph).hexdigest()) != card.onnx_sha256:
        raise ModelError(
            f"{shown(onnx_path, root)}: sha256 {actual[:12]}… does not match {CARD_FILE}'s {card.onnx_sha256[:12]}…"
        )
    return graph
