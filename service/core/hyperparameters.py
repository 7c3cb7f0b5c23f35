"""Hyperparameters: the configs that rebuild a model, and the flags `paxcast train` and `paxcast retrain` offer.

A card's `hyperparameters` (`paxcast.service.core.contract.ModelCard`) are one of these: `TrainConfig` for a
per-series recurrent model, `GlobalTrainConfig` for a global one. Each field is the one definition of a
setting: its default, its bounds and, for `flag` fields, the help text of its command-line flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    ValidationError,
    model_serializer,
    model_validator,
)

from paxcast.service.core.exceptions import UsageError

# The graphs' floor on a window's mean |value| (an all-zero window stays zero instead of dividing by 0); the
# same floor scales its intervals (`intervals.window_scale`). Tiny, so that a series in thousandths is scaled
# like one in millions (1.0 here made sub-unit series not scale-free).
EPS = 1e-6
CELLS = ("lstm", "gru", "peephole")
# Beyond these a model is a mistake, not a design: the service would allocate window x batch floats.
MAX_WINDOW, MAX_HORIZON = 10_000, 10_000
# The served shape: a retrain keeps these, every other training flag may change.
SHAPE_FIELDS = ("window", "horizon", "season", "min_history")
Cell = Literal["lstm", "gru", "peephole"]
Transform = Literal["none", "log"]


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
        """The floor on a window's mean |value|: EPS, which a per-series card does not store (a global card
        does, as its `eps` field)."""
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

    `paxcast.training.network.model.GlobalForecaster` reads `history (batch, window)` and the calendar
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
    # The naive forecast the head corrects (and the untrained network's forecast): the value `base_lag` steps before
    # each horizon step, repeated every `base_lag` steps. None: `season` (every card before issue 32). Chosen by
    # validation among the data's seasonal lags the horizon allows (`training.network.base`).
    base_lag: int | None = flag(
        None, "lag of the naive forecast the network corrects (default: chosen by validation, else the season)", ge=1
    )
    # Or the mean (median) of the same step in the last `base_seasons` seasons, a season the history lacks (padding,
    # or what came before a gap) skipped: a few weeks of hourly flows are noisy hour by hour, and averaging weeks is
    # what MSTL gains by (issue 32). None: one season back (or `base_lag`). Chosen by validation like `base_lag`.
    base_seasons: int | None = flag(
        None, "average the same step of this many past seasons as the naive (default: chosen by validation)", ge=2, le=3
    )
    base_statistic: Literal["mean", "median"] = Field("mean")  # of three seasons only: the graph's min/max form
    # The calendar column (the `holiday` or `offday` flag) a past season's step must share with the horizon step to
    # count in an averaged base: a holiday is averaged with holidays, a workday with workdays (all of them when none
    # shares it). An index into the card's covariates, which `base_words` names.
    base_day_type: int | None = Field(None, ge=0)
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
    hidden: int = flag(64, "hidden units of the LSTM encoder and the head (default: 32 daily, else 64)", ge=1, le=4096)
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
        if self.base_lag is not None and self.base_lag > self.window:
            raise ValueError(f"base_lag ({self.base_lag}) exceeds the window ({self.window})")
        if self.base_seasons is not None:
            if self.base_lag is not None:
                raise ValueError("base_lag and base_seasons are two bases: give one")
            if self.base_seasons * self.season > self.window:
                raise ValueError(
                    f"base_seasons ({self.base_seasons}) x season ({self.season}) exceeds the window ({self.window})"
                )
            if self.base_statistic == "median" and self.base_seasons != 3:
                raise ValueError(f"a median base needs base_seasons 3, not {self.base_seasons}")
            if self.base_day_type is not None and self.base_day_type >= self.features:
                raise ValueError(
                    f"base_day_type ({self.base_day_type}) is not one of the {self.features} calendar columns"
                )
        elif self.base_statistic != "mean" or self.base_day_type is not None:
            raise ValueError("base_statistic and base_day_type apply to base_seasons, not given")
        if self.seasonal_lags * self.season > self.window:
            raise ValueError(
                f"seasonal_lags ({self.seasonal_lags}) x season ({self.season}) exceeds the window ({self.window})"
            )
        return self

    @property
    def shortest(self) -> int:
        """The shortest history the graph forecasts from."""
        return self.window if self.min_history is None else self.min_history

    @model_serializer(mode="wrap")
    def without_default_base(self, handler: SerializerFunctionWrapHandler):  # unannotated: see below
        """A card without a chosen base is written as before `base_lag` and `base_seasons` existed: every model trained
        with the seasonal base (the shipped ones, any daily or week-ahead one) keeps a card byte for byte as it was.

        No return annotation on purpose: pydantic would take `dict` as the serialized shape, and the API's
        schema for a card's hyperparameters would become "any object", valid under both configs' `oneOf`."""
        out = handler(self)
        defaults = (("base_lag", None), ("base_seasons", None), ("base_statistic", "mean"), ("base_day_type", None))
        for name, default in defaults:
            if name in out and out[name] == default:
                del out[name]
        return out

    @property
    def base(self) -> int:
        """The lag of the naive forecast inside the graph."""
        return self.season if self.base_lag is None else self.base_lag

    def base_words(self, names: Sequence[str]) -> str:
        """The naive inside the graph, in words, `names` the calendar's columns: "seasonal naive", "naive at lag 24",
        "mean of the last 3 seasons", "mean of the last 3 seasons of the same day type (offday)"."""
        if self.base_seasons is not None:
            same = f" of the same day type ({names[self.base_day_type]})" if self.base_day_type is not None else ""
            return f"{self.base_statistic} of the last {self.base_seasons} seasons{same}"
        return "seasonal naive" if self.base == self.season else f"naive at lag {self.base}"

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
