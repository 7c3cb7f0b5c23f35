"""`paxcast backtest --general DIR`: a registered general model, zero-shot, on a per-series backtest's splits.

Each split posts the history before its origin through the service's `Predictor` (the model's last
`window` values, from their date): to the general model that never saw it, and to the dedicated model
trained on it, so both are scored on the same splits by the same table, as the service answers.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ValidationError

from paxcast.service.calendar import FREQ_NAMES, iso
from paxcast.service.exceptions import DataError, InvalidInput, ModelError, UsageError
from paxcast.service.predictor import Predictor, level_label
from paxcast.service.registry import current_version
from paxcast.service.schemas import ID_MAX_LENGTH, ForecastRequest
from paxcast.training.data import Series
from paxcast.training.registry import register

if TYPE_CHECKING:
    from paxcast.training.global_pipeline import FittedGlobal
    from paxcast.training.pipeline import Fitted


def load_general(path: str | Path, freq: str, horizon: int, shortest: int) -> tuple[str, Predictor]:
    """(row label, predictor) for `path`: a model directory (its CURRENT version) or one version's directory.

    Checked before any split trains: the frequency, the horizon, and that the shortest past a split leaves
    (`shortest` values) is a history the model accepts."""
    path = Path(path)
    if (path / "CURRENT").is_file():
        try:
            version_dir = path / current_version(path.parent, path.name)
        except ModelError as exc:
            raise UsageError(f"--general {path}: {exc}") from None
    elif (path / "model.json").is_file():
        version_dir = path
    else:
        raise UsageError(f"--general {path}: neither a registered model (CURRENT) nor a version (model.json)")
    try:
        predictor = Predictor.load(version_dir)
    except ModelError as exc:
        raise UsageError(f"--general {path}: {exc}") from None
    card = predictor.card
    if not card.is_global or card.freq != freq:
        raise UsageError(
            f"--general {path}: '{card.name}' is not a general model for {FREQ_NAMES[freq]} series "
            f"(a {'per-series' if not card.is_global else FREQ_NAMES[card.freq]} model)"
        )
    if horizon > predictor.horizon:
        raise UsageError(
            f"--general {path}: '{card.name}' forecasts at most {predictor.horizon} steps; the splits ask {horizon}"
        )
    if shortest < card.min_history:
        raise UsageError(
            f"--general {path}: '{card.name}' needs at least {card.min_history} values of history; "
            f"the earliest split leaves {shortest}"
        )
    return f"{card.name} (general, zero-shot)", predictor


def served_predictor(fitted: Fitted | FittedGlobal, registry: Path, name: str) -> Predictor:
    """`fitted` registered as `name` in a scratch `registry` and loaded as the service loads a version, so
    what a backtest or a retrain scores is the card's graph with the service's checks, padding and floors."""
    card_for = partial(fitted.card, name, data_file="-", data_sha256="0" * 64)
    return Predictor.load(registry / name / register(registry, name, fitted.onnx_path, card_for))


def served_forecast(predictor: Predictor, past: list[Series], horizon: int, levels: list[int], who: str) -> dict:
    """{"mean": (series, horizon), "intervals": {level: (lower, upper)}} as the service answers each history
    (no intervals from a model without a calibration); `who` names the model in a refusal."""
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
    intervals = {lv: tuple(bound.astype(np.float64) for bound in result.intervals[level_label(lv)]) for lv in levels}
    return {"mean": result.mean.astype(np.float64), "intervals": intervals}
