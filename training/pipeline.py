"""From a data file to a registered, servable model: read it, pick the kind (one series: per-series; many:
global), fit that kind, register the graph after the service's own load check.

`paxcast train` and `paxcast retrain` come here; backtests call the two fits directly on each cut.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from paxcast.service.core.card_text import storable_file_name
from paxcast.service.core.contract import sha256_of
from paxcast.service.core.covariates import Calendar
from paxcast.service.core.exceptions import UsageError
from paxcast.service.core.hyperparameters import GlobalTrainConfig, TrainConfig
from paxcast.service.core.publish import register
from paxcast.service.inference.predictor import check_servable
from paxcast.training.data import Series, read_series
from paxcast.training.network.pipeline import (
    FittedGlobal,
    check_global_series,
    fit_global,
    make_calendar,
    resolve_global_config,
)
from paxcast.training.series.designs import prepare
from paxcast.training.series.pipeline import Fitted, fit

# Flags that only one kind of model takes; the rest (window, horizon, season, hidden, layers, lr, seed) both do.
PER_SERIES_ONLY = set(TrainConfig.model_fields) - set(GlobalTrainConfig.model_fields)
GLOBAL_ONLY = (set(GlobalTrainConfig.model_fields) - set(TrainConfig.model_fields)) | {"country", "subdiv", "holidays"}


def choose_kind(path: str | Path, series: list[Series], kind: str) -> str:
    """ "global" for a file of many series (one network across them), "per-series" for one series."""
    if kind == "auto":
        return "global" if len(series) > 1 else "per-series"
    if kind == "per-series" and len(series) > 1:
        raise UsageError(f"{path}: {len(series)} series; a per-series model trains on a file of one series")
    return kind


def check_flags(kind: str, given: dict) -> None:
    """One line naming a flag the chosen kind of model does not take."""
    wrong = sorted(
        k for k, v in given.items() if v is not None and k in (PER_SERIES_ONLY if kind == "global" else GLOBAL_ONLY)
    )
    if wrong:
        flag = "--" + wrong[0].replace("_", "-")
        other = "per-series" if kind == "global" else "global"
        raise UsageError(f"{flag} applies to {other} models; this trains a {kind} model (see --kind)")


def train_and_register(
    data_path: str | Path,
    out: str | Path,
    name: str,
    show_progress: bool | None = None,
    make_current: bool = True,
    kind: str = "auto",
    calendar: Calendar | None = None,
    holiday_file: str | None = None,
    trainer=None,
    **overrides,
) -> tuple[str, Fitted | FittedGlobal]:
    """Read, validate, train, export and register; return the new version and what was fitted.

    A file of many series trains one global network (`network.pipeline`), one series a per-series
    ensemble. `make_current=False` registers without switching CURRENT (retrain switches it itself).
    `calendar` and `holiday_file` (retrain: the champion's) replace the --country/--subdiv/--holidays flags.
    `trainer` (global models only) replaces `train_global`, e.g. `network.ray.RayTrainer`; export and registry
    stay here.
    """
    series = read_series(data_path)
    kind = choose_kind(data_path, series, kind)
    if trainer is not None and kind != "global":
        raise UsageError(f"{data_path}: --engine ray trains global models (a file of many series, or --kind global)")
    check_flags(kind, overrides)
    calendar_flags = {k: overrides.pop(k, None) for k in ("country", "subdiv", "holidays")}
    if kind == "global":
        overrides = {k: v for k, v in overrides.items() if k in GlobalTrainConfig.model_fields}
    else:
        overrides = {k: v for k, v in overrides.items() if k in TrainConfig.model_fields}
    data_sha256 = sha256_of(data_path)
    with tempfile.TemporaryDirectory(prefix="paxcast-") as tmp:
        if kind == "global":
            calendar = calendar or make_calendar(
                series[0].freq, calendar_flags["country"], calendar_flags["subdiv"], calendar_flags["holidays"]
            )
            config = resolve_global_config(series, len(calendar.names), **overrides)
            check_global_series(data_path, series, config)
            if calendar_flags["holidays"]:
                holiday_file = storable_file_name(Path(calendar_flags["holidays"]).name)
            elsewhere = {} if trainer is None else {"train": trainer}  # default: train_global in this process
            fitted = fit_global(
                series, config, calendar, Path(tmp), holiday_file, show_progress=show_progress, **elsewhere
            )
        else:
            config, designs = prepare(data_path, series, **overrides)
            fitted = fit(series, config, Path(tmp), show_progress=show_progress, designs=designs)
        describe_version = lambda version, onnx_sha256: fitted.card(
            name, version, onnx_sha256, Path(data_path).name, data_sha256
        )  # noqa: E731
        version = register(
            out, name, fitted.onnx_path, describe_version, check=check_servable, make_current=make_current
        )
    return version, fitted
