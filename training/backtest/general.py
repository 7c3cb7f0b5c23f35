"""`paxcast backtest --general DIR`: a registered general model, zero-shot, on a per-series backtest's splits.

Each split posts the history before its origin through the service's `Predictor` (the model's last
`window` values, from their date): to the general model that never saw it, and to the dedicated model
trained on it, so both are scored on the same splits by the same table, as the service answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from paxcast.service.core.calendar import FREQ_NAMES
from paxcast.service.core.exceptions import ModelError, UsageError
from paxcast.service.core.registry import current_version
from paxcast.service.inference.predictor import Predictor

if TYPE_CHECKING:
    pass


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
