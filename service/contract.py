"""The model contract: one typed card per model version, the ONNX tensor names, and the one way to read a card.

Training builds a `ModelCard` and the registry writes `card.model_dump_json()`; the
service, `paxcast retrain`, `paxcast models` and the backtest read a version only
through `read_card`, which refuses anything incomplete, out of range or not matching
its hashes with one line naming the file. `paxcast.service.predictor.load_version`
adds the onnxruntime checks on top; it is the one load check both sides run.

Like nanoGPT's checkpoint, the card's `hyperparameters` rebuild the model: the
fields the served shape repeats at the top level (`window`, `horizon`, …) are
computed from them, never stored twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    computed_field,
    field_validator,
    model_validator,
)

from paxcast.service.calendar import DEFAULT_SEASON
from paxcast.service.exceptions import ModelError, UsageError

HISTORY, FORECAST = "history", "forecast"  # the ONNX graph's input and output tensors
CALENDAR = "calendar"  # a calendar-aware graph's second input: (batch, window + horizon, covariates)
OPSET = 17
# The graphs' floor on a window's mean |value| (an all-zero window stays zero instead of dividing by 0); the
# same floor scales its intervals (`intervals.window_scale`). Tiny, so that a series in thousandths is scaled
# like one in millions (1.0 here made sub-unit series not scale-free).
EPS = 1e-6
CARD_FILE, ONNX_FILE = "model.json", "model.onnx"
CARD_VERSION = 2
CELLS = ("lstm", "gru", "peephole")
# Beyond these a model is a mistake, not a design: the service would allocate window x batch floats.
MAX_WINDOW, MAX_HORIZON = 10_000, 10_000
# The served shape: a retrain keeps these, every other training flag may change.
# A model name is one directory of the registry: no separators, no "..", nothing hidden.
MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
SHAPE_FIELDS = ("window", "horizon", "season", "min_history")

Freq = Literal["MS", "QS", "YS", "W", "D", "h"]
Cell = Literal["lstm", "gru", "peephole"]
Transform = Literal["none", "log"]
Score = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def flag(default: Any = ..., description: str = "", **bounds) -> Any:
    """A field that `paxcast train` offers as `--<name>` (and `paxcast retrain`, unless it is in SHAPE_FIELDS)."""
    return Field(default, description=description, json_schema_extra={"flag": True}, **bounds)


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def updated(self, **changes) -> Self:
        """A validated copy with `changes` applied (pydantic's model_copy would skip validation)."""
        return type(self).model_validate({**self.model_dump(), **changes})


class ForecasterConfig(Frozen):
    """The network's shape: everything needed to rebuild the module before loading weights."""

    window: int = flag(description="history values the model reads (default: 3 seasons)", ge=2, le=MAX_WINDOW)
    horizon: int = flag(description="steps forecast at once (default: the window)", ge=1, le=MAX_HORIZON)
    season: int = flag(description="seasonal period (default: from the frequency, 12 for monthly)", ge=1)
    cell: Cell = flag("lstm", "recurrent cell")
    hidden: int = flag(64, "hidden units per layer", ge=1, le=4096)
    layers: int = flag(1, "stacked recurrent layers", ge=1, le=8)
    dropout: float = flag(0.0, "dropout between layers and before the head", ge=0.0, lt=1.0)
    transform: Transform = flag("none", "value transform inside the graph (default: chosen by inner validation)")

    @property
    def eps(self) -> float:
        """EPS: a per-series model's card does not store it (a global model's card does, as `eps`)."""
        return EPS

    @model_validator(mode="after")
    def window_covers_a_season(self) -> Self:
        if self.window <= self.season:
            raise ValueError(f"window ({self.window}) must exceed the season ({self.season})")
        return self


class TrainConfig(ForecasterConfig):
    """The forecaster's shape plus how it is trained: a card's `hyperparameters`."""

    epochs: int = flag(300, "maximum epochs per member", ge=1)
    patience: int = flag(40, "epochs without validation improvement before stopping", ge=1)
    lr: float = flag(3e-3, "AdamW learning rate", gt=0.0, le=1e3)
    weight_decay: float = Field(1e-4, ge=0.0)
    batch_size: int = Field(32, ge=1)
    clip_norm: float = Field(1.0, gt=0.0)
    val_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    augment: float = flag(
        0.0,
        "random growth tilt per season applied to training windows (default: chosen by inner validation)",
        ge=0.0,
        lt=1.0,
    )
    ensemble: int = flag(5, "members averaged inside the graph", ge=1, le=64)
    seed: int = flag(0, "base seed; member k uses seed + k", ge=0)


class GlobalTrainConfig(Frozen):
    """A global model's hyperparameters: one network trained across every series of a file.

    `paxcast.training.global_model.GlobalForecaster` reads `history (batch, window)` and the calendar
    covariates of the window and the horizon; it scales each window (`scaling`: by its mean |value|, or by
    its seasonal-naive MAE around its mean), so zeros and any scale are allowed, and forecasts a correction
    to seasonal naive (lag `season`).
    """

    model: Literal["global"] = "global"
    window: int = flag(
        description="history values the model reads (default: 4 weeks daily, 2 weeks hourly)", ge=2, le=MAX_WINDOW
    )
    horizon: int = flag(
        description="steps forecast at once (default: 4 weeks daily, 1 week hourly)", ge=1, le=MAX_HORIZON
    )
    season: int = flag(description="the seasonal-naive lag inside the graph (default: 7 daily, 168 hourly)", ge=1)
    # None: the window. Shorter histories are left-padded with NaN (the service does it) and the graph masks
    # the padding, so a series with two years of months is forecast by a model that reads six.
    min_history: int | None = flag(
        None, "shortest history accepted (default: the window hourly/daily, two seasons monthly/quarterly)", ge=1
    )
    seasonal_lags: int = flag(
        0, "past seasons the head reads at each horizon step (default: all the window holds monthly/quarterly)", ge=0
    )
    # Which validation score picks the checkpoint. Stations: pooled WAPE, the network's total volume, what
    # an operator staffs for. General models: mean MASE, every posted series alike, however small.
    metric: Literal["wape", "mase"] = flag(
        "wape", "validation score that picks the checkpoint (default: wape hourly/daily/weekly, mase otherwise)"
    )
    # How the graph scales a window before the network reads it. "level": divided by its mean |value|.
    # "mase": centred on its mean and divided by its seasonal-naive MAE, the loss's own unit: scaled by the
    # level, a smooth series (year-on-year change 1 % of its level) is a flat line to the network, whose
    # error of a few percent of the level is then several MASE (docs/accuracy.md, "General models").
    scaling: Literal["level", "mase"] = flag(
        "level", "what the graph divides a window by (default: mase monthly/quarterly, else level)"
    )
    # "drift": the head also reads, at each horizon step, the window's mean seasonal change times the seasons
    # ahead (seasonal naive's drift), so continuing a steady trend is one weight rather than a pattern the
    # encoder must find in the window.
    trend: Literal["none", "drift"] = flag(
        "none", "'drift': the head also reads the window's mean seasonal change (default: drift quarterly, else none)"
    )
    # Without it the head cannot tell step h from step h + season: both read the same month's calendar, the
    # same seasonal-naive value and the same lags, so the second year's correction is the first year's.
    lead_input: bool = flag(False, "the head also reads how far ahead each step lies (steps / season)")
    # Fixed-parameter exponential smoothing and a seasonal line fitted to the window (`training.smoothing`),
    # with each one's error on the window's own last horizon: the head weighs them per window. A local fit is
    # what beats the network on smooth series it never saw; these are its fixed-parameter, in-graph kind.
    local_forecasts: bool = flag(
        False, "the head also weighs local smoothing forecasts of the window by their error on its last horizon"
    )
    hidden: int = flag(64, "hidden units of the LSTM encoder and the head", ge=1, le=4096)
    layers: int = flag(1, "stacked LSTM layers", ge=1, le=8)
    patch: int = flag(
        1, "history values per recurrent step; the window must be a multiple (default: 24 hourly, else 1)", ge=1
    )
    steps: int = flag(3000, "optimiser steps (each a batch of windows drawn evenly across series)", ge=1)
    patience_steps: int | None = flag(
        None,
        "stop once this many optimiser steps pass without a better validation score "
        "(default: 1000 monthly/quarterly, off otherwise)",
        ge=1,
    )
    lr: float = flag(1e-3, "Adam learning rate", gt=0.0, le=1e3)
    batch_size: int = Field(256, ge=1)
    clip_norm: float = Field(1.0, gt=0.0)
    eval_every: int = Field(100, ge=1)  # steps between validation checks (the checkpoint kept is the best one)
    features: int = Field(ge=0, le=64)  # calendar columns, len(card.covariates.names)
    eps: float = Field(EPS, gt=0.0)  # recorded in the card, so the service floors a window as the graph did
    # Against the corpus' own growth: tourism grew about 7 % a year in every year of its training part, and
    # a window's own trend told nothing about its future there, so the network learnt "add 10 %" for every
    # series. A random tilt shared by a window's history and target makes the trend it reads the trend it
    # must forecast (docs/accuracy.md, "General models").
    augment: float = flag(
        0.0,
        "random linear growth tilt per season applied to each training window and its target "
        "(default: 0.1 monthly/quarterly, else 0)",
        ge=0.0,
        lt=1.0,
    )
    # A share of each training batch replaced by synthetic smooth series (steady trend, fixed season, little
    # noise: `training.synthetic`), which continue their trend as tourism's noisy windows rarely do.
    synthetic: float = flag(0.0, "share of each training batch that is synthetic smooth series", ge=0.0, le=1.0)
    # The weights validation scores (and the graph keeps) can be an exponential moving average of the
    # trained ones: one network's score jumps from check to check, and an average of nearby steps does not.
    ema: float = flag(
        0.0, "decay of a moving average of the weights that validation scores and keeps (0: off)", ge=0.0, lt=1.0
    )
    # Regularisers, off unless asked: the general members peak after one or two passes over the corpus'
    # windows and score worse on validation for the rest (docs/accuracy.md). Dropout acts on the encoder's summary of
    # the window while training only: the exported graph has no trace of it.
    dropout: float = flag(0.0, "dropout on the encoder's summary of the window while training", ge=0.0, lt=1.0)
    weight_decay: float = flag(0.0, "decoupled weight decay (AdamW; 0: plain Adam)", ge=0.0, le=1.0)
    # One network's validation score jumps by 0.1-0.2 MASE from one check to the next, so the checkpoint kept
    # is partly a draw; members trained from seeds seed, seed + 1, ... and averaged inside the graph are not.
    ensemble: int = flag(
        1,
        "networks trained from consecutive seeds, averaged inside the graph (default: 3 monthly/quarterly, else 1)",
        ge=1,
        le=16,
    )
    seed: int = flag(0, "seed of the weights and the window sampler (member k: seed + k)", ge=0)

    # What the card's top level repeats for every model (`ModelCard.cell`, ...): LSTMs, no transform.
    cell: ClassVar[str] = "lstm"
    transform: ClassVar[str] = "none"

    @model_validator(mode="after")
    def window_covers_a_season(self) -> Self:
        if self.window < self.season:
            raise ValueError(f"window ({self.window}) must be at least the season ({self.season})")
        if self.window % self.patch:
            raise ValueError(f"window ({self.window}) must be a multiple of patch ({self.patch})")
        if self.min_history is not None and not self.season <= self.min_history <= self.window:
            raise ValueError(
                f"min_history ({self.min_history}) must be between the season ({self.season}) and the window "
                f"({self.window}): the graph's seasonal naive reads the last season"
            )
        if self.local_forecasts and self.window <= self.season:
            raise ValueError(f"local_forecasts needs a window ({self.window}) longer than the season ({self.season})")
        if self.seasonal_lags * self.season > self.window:
            raise ValueError(
                f"seasonal_lags ({self.seasonal_lags}) x season ({self.season}) exceeds the window ({self.window})"
            )
        return self

    @property
    def shortest(self) -> int:
        """The shortest history the graph forecasts from."""
        return self.window if self.min_history is None else self.min_history

    @property
    def pads(self) -> bool:
        """Histories shorter than the window are padded with NaN and masked inside the graph."""
        return self.shortest < self.window


def hyperparameters_kind(value: Any) -> str:
    """Which config a card's hyperparameters are: cards before global models have no `model` field."""
    kind = value.get("model") if isinstance(value, dict) else getattr(value, "model", None)
    return "global" if kind == "global" else "recurrent"


Hyperparameters = Annotated[
    Annotated[TrainConfig, Tag("recurrent")] | Annotated[GlobalTrainConfig, Tag("global")],
    Discriminator(hyperparameters_kind),
]


def make_config(cls: type[BaseModel] = TrainConfig, **values) -> Any:
    """`cls(**values)`, with a bad value as one UsageError line naming the flag."""
    try:
        return cls(**values)
    except ValidationError as exc:
        raise UsageError(one_line(exc, prefix="--")) from None


def flag_fields(cls: type[BaseModel] = TrainConfig, retrainable: bool = False) -> dict[str, Any]:
    """name -> FieldInfo of the fields `paxcast train` (or, retrainable, `paxcast retrain`) offers as flags."""
    return {
        name: info
        for name, info in cls.model_fields.items()
        if (info.json_schema_extra or {}).get("flag") and not (retrainable and name in SHAPE_FIELDS)
    }


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
    """The future-known covariates a calendar-aware graph reads, rebuilt by `paxcast.service.covariates.Calendar`."""

    names: list[str]  # the graph's calendar columns, in order; the service checks it rebuilds the same
    country: str | None = None  # holidays from the `holidays` package
    subdiv: str | None = None
    holidays: list[dt.date] | None = None  # or the dates of the holiday file it was trained with, embedded
    holiday_file: str | None = None  # that file's name, for readers


class ModelCard(Frozen):
    """model.json: what one registered version is, how it was made, and how to call it."""

    card_version: Literal[2] = CARD_VERSION
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


def migrate(data: dict) -> dict:
    """A card written before `card_version` 2 (the committed air_passengers one) in today's form.

    Version 1 stored `shrink` and `refit` training options that were always off; they
    are dropped, and a card that turned them on is refused rather than served wrongly.
    """
    if data.get("card_version") is not None:
        return data
    data = {**data, "card_version": CARD_VERSION}
    params = dict(data.get("hyperparameters") or {})
    for key, off in (("shrink", 0.0), ("refit", False)):
        if params.pop(key, off) != off:
            raise ValueError(f"hyperparameters.{key} is on; this paxcast no longer trains or serves such models")
    data["hyperparameters"] = params
    selection = data.get("selection")
    if isinstance(selection, dict):
        strip = lambda c: {k: v for k, v in c.items() if k != "shrink"} if isinstance(c, dict) else c  # noqa: E731
        data["selection"] = {
            **selection,
            "candidates": [strip(c) for c in selection.get("candidates", [])],
            "chosen": strip(selection.get("chosen")),
        }
    return data


def one_line(exc: ValidationError, prefix: str = "") -> str:
    """The first validation error as `field.path: message (and N more problems)`."""
    first = exc.errors(include_url=False, include_input=False)[0]
    # A discriminated union puts its tag in the path (hyperparameters.recurrent.horizon); the file has no such key.
    path = first["loc"]
    loc = [
        p for k, p in enumerate(path) if not (k and path[k - 1] == "hyperparameters" and p in ("recurrent", "global"))
    ]
    where = f"{prefix}{'.'.join(str(part) for part in loc)}: " if loc else ""
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return f"{where}{first['msg'].removeprefix('Value error, ')}{more}"


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
        return ModelCard.model_validate(migrate(data))
    except ValueError as exc:  # pydantic's ValidationError, or migrate's refusal
        text = one_line(exc) if isinstance(exc, ValidationError) else str(exc)
        raise ModelError(f"{source}: {text}") from None


def read_card(version_dir: str | Path, verify_hash: bool = True, version: str | None = None) -> ModelCard:
    """The checked card of a version directory.

    Refuses a directory that is a symbolic link (a registry must not serve files from
    elsewhere), a card that is incomplete, out of range or names another version than
    its directory (`version`, default the directory's name), and, with `verify_hash`,
    a model.onnx whose sha256 differs from the card's.
    """
    version_dir = Path(version_dir)
    if version_dir.is_symlink():
        raise ModelError(f"{version_dir}: is a symbolic link; a version must be a directory inside the registry")
    card_path, onnx_path = version_dir / CARD_FILE, version_dir / ONNX_FILE
    try:
        text = card_path.read_bytes()
    except OSError as exc:
        raise ModelError(f"{card_path}: cannot read ({exc.strerror})") from None
    card = parse_card(text, str(card_path))
    expected = version or version_dir.name
    if card.version != expected:
        raise ModelError(f"{card_path}: names version {card.version!r} but lives in {expected!r}")
    if not onnx_path.is_file() or onnx_path.is_symlink():
        raise ModelError(f"{onnx_path}: missing (or not a regular file)")
    if verify_hash and (actual := sha256_of(onnx_path)) != card.onnx_sha256:
        raise ModelError(f"{onnx_path}: sha256 {actual[:12]}… does not match {CARD_FILE}'s {card.onnx_sha256[:12]}…")
    return card
