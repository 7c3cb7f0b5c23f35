"""The one path from a data file to a registered, servable model.

`paxcast train`, `paxcast backtest` and `paxcast retrain` all go through `fit`,
so what a backtest measures is exactly what training ships.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.calendar import DEFAULT_SEASON
from training.data import DataError, Series, file_sha256, read_series, require_length
from training.export import export_onnx, parity, sample_histories
from training.registry import register
from training.train import TrainConfig, TrainResult, train

PARITY_TOLERANCE = 1e-4


def default_window(season: int) -> int:
    return max(3 * season, 8)


@dataclass
class Fitted:
    """A trained ensemble, its ONNX file and the contract that goes next to it."""

    result: TrainResult
    onnx_path: Path
    meta: dict


def check_series(path: str | Path, series: list[Series], config: TrainConfig) -> None:
    """Refuse data the model cannot train on, before any training starts."""
    require_length(path, series, config.window + config.horizon + 1, f"window {config.window} + horizon {config.horizon} + 1 validation window")
    if config.transform == "log":
        for s in series:
            bad = np.flatnonzero(s.y <= 0)
            if len(bad):
                raise DataError(f"{path}: series '{s.id}' value #{bad[0] + 1} is {s.y[bad[0]]:g}; the log transform needs y > 0")


def fit(series: list[Series], config: TrainConfig, workdir: Path, show_progress: bool | None = None) -> Fitted:
    """Train, export to `workdir/model.onnx`, verify parity, and describe it."""
    result = train(series, config, show_progress=show_progress)
    onnx_path = export_onnx(result.model, workdir / "model.onnx", config.window)
    probe = sample_histories(series[0].y, config.window, 256, seed=config.seed)
    error = parity(result.model, onnx_path, probe)
    if not error <= PARITY_TOLERANCE:
        raise RuntimeError(f"onnxruntime and PyTorch disagree by {error:.2e} (relative) after export")
    meta = {
        "window": config.window,
        "horizon": config.horizon,
        "season": config.season,
        "freq": series[0].freq,
        "cell": config.cell,
        "layers": config.layers,
        "transform": config.transform,
        "positive_only": config.transform == "log",
        "ensemble": config.ensemble,
        "hyperparameters": config.to_dict(),
        "training": {
            "series": len(series),
            "rows": int(sum(len(s.y) for s in series)),
            "windows": result.n_train,
            "validation_windows": result.n_val,
            "member_best_epochs": result.member_epochs,
            "seconds": round(result.seconds, 2),
        },
        "validation": {
            "loss": result.val_loss,
            "mape": result.val_mape,
            "baseline_mape": result.baseline_val_mape,
            "baseline": "seasonal naive with drift (the network's zero-correction output)",
        },
        "onnx": {"input": "history", "output": "forecast", "opset": 17, "parity_max_rel_error": error},
        "intervals": None,
    }
    return Fitted(result=result, onnx_path=onnx_path, meta=meta)


def train_and_register(
    data_path: str | Path, out: str | Path, name: str, show_progress: bool | None = None, make_current: bool = True, **overrides
) -> tuple[str, Fitted]:
    """Read, validate, train, export and register; return the new version and what was fitted.

    `make_current=False` registers without switching CURRENT (retrain switches it itself).
    """
    series = read_series(data_path)
    config = resolve_config(series, **overrides)
    check_series(data_path, series, config)
    with tempfile.TemporaryDirectory(prefix="paxcast-") as tmp:
        fitted = fit(series, config, Path(tmp), show_progress=show_progress)
        fitted.meta.update(
            data_sha256=file_sha256(data_path),
            data_file=Path(data_path).name,
            created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        )
        version = register(out, name, fitted.onnx_path, fitted.meta, make_current=make_current)
    return version, fitted


def resolve_config(series: list[Series], **overrides) -> TrainConfig:
    """TrainConfig with season, window and horizon filled from the data where not given."""
    season = overrides.pop("season", None) or DEFAULT_SEASON[series[0].freq]
    window = overrides.pop("window", None) or default_window(season)
    horizon = overrides.pop("horizon", None) or window
    values = {k: v for k, v in overrides.items() if v is not None}
    config = TrainConfig(window=window, horizon=horizon, season=season, **values)
    config.forecaster()  # validates the combination before any work
    return config
