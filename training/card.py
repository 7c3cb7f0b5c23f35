"""The one card builder: what a fit of either kind says about itself, as the `ModelCard` the registry writes."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from paxcast.service.core.card_text import storable_file_name
from paxcast.service.core.contract import (
    CalendarSpec,
    Calibration,
    ModelCard,
    OnnxFacts,
    Selection,
    TrainingFacts,
    Validation,
)
from paxcast.service.core.hyperparameters import GlobalTrainConfig, TrainConfig


class Facts(Protocol):
    """What a fit (`series.pipeline.Fitted`, `network.pipeline.FittedGlobal`) tells its card."""

    freq: str

    @property
    def config(self) -> TrainConfig | GlobalTrainConfig: ...

    @property
    def covariates(self) -> CalendarSpec | None: ...

    @property
    def training(self) -> TrainingFacts: ...

    @property
    def validation(self) -> Validation: ...

    @property
    def selection(self) -> Selection: ...

    @property
    def onnx(self) -> OnnxFacts: ...

    @property
    def intervals(self) -> Calibration | None: ...


def make_card(fit: Facts, name: str, version: str, onnx_sha256: str, data_file: str, data_sha256: str) -> ModelCard:
    """The card of `fit` registered as `name`/`version`, created now."""
    return ModelCard(
        name=name,
        version=version,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        freq=fit.freq,
        hyperparameters=fit.config,
        covariates=fit.covariates,
        training=fit.training,
        validation=fit.validation,
        selection=fit.selection,
        onnx=fit.onnx,
        intervals=fit.intervals,
        data_file=storable_file_name(data_file),  # a name that is not UTF-8 would make a card no response can carry
        data_sha256=data_sha256,
        onnx_sha256=onnx_sha256,
    )
