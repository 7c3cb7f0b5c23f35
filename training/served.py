"""What is measured is what is served: a fit registered and loaded as the service loads a version, and
forecasts asked of it as the service answers a request. Backtests and retraining score through these two."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ValidationError

from paxcast.service.core.calendar import iso
from paxcast.service.core.exceptions import DataError, InvalidInput
from paxcast.service.core.publish import register
from paxcast.service.core.request import ID_MAX_LENGTH, ForecastRequest
from paxcast.service.inference.predictor import Predictor, check_servable, level_label
from paxcast.training.data import Series

if TYPE_CHECKING:
    from paxcast.training.network.pipeline import FittedGlobal
    from paxcast.training.series.pipeline import Fitted


def served_predictor(
    fitted: Fitted | FittedGlobal, registry: Path, name: str, data_file: str = "-", data_sha256: str = "0" * 64
) -> Predictor:
    """`fitted` registered as `name` in a scratch `registry` and loaded as the service loads a version, so
    what a backtest or a retrain scores is the card's graph with the service's checks, padding and floors."""
    card_for = partial(fitted.card, name, data_file=data_file, data_sha256=data_sha256)
    return Predictor.load(registry / name / register(registry, name, fitted.onnx_path, card_for, check=check_servable))


def served_forecast(predictor: Predictor, past: list[Series], horizon: int, levels: list[int], who: str) -> dict:
    """{"mean": (series, horizon), "intervals": {level: (lower, upper)}} as the service answers each history
    (its last `window` values, from their timestamp; no intervals from a model without a calibration);
    `who` names the model in a refusal. Each forecast is checked to start right after its history."""
    rows = []
    for s in past:
        tail = s.y[-predictor.window :]
        first = s.timestamp(len(s.y) - len(tail))
        rows.append({"id": s.id[:ID_MAX_LENGTH], "history": tail.tolist(), "start": iso(first, s.freq)})
    levels = levels if predictor.card.intervals is not None else []
    body = {"series": rows, "horizon": horizon, "level": levels, "freq": past[0].freq}
    try:
        result = predictor.forecast(ForecastRequest.model_validate(body))
    except (InvalidInput, ValidationError) as exc:  # what the service would answer with a 422
        raise DataError(f"{who}: {str(exc).splitlines()[0]}") from None
    for s, stamps in zip(past, result.timestamps, strict=True):
        after = iso(s.timestamp(len(s.y)), s.freq)
        if stamps is None or stamps[0] != after:
            raise RuntimeError(f"series '{s.id}': the service's forecast does not start at {after}")
    intervals = {lv: tuple(bound.astype(np.float64) for bound in result.intervals[level_label(lv)]) for lv in levels}
    return {"mean": result.mean.astype(np.float64), "intervals": intervals}
