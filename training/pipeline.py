"""The one path from a data file to a registered, servable model.

`paxcast train`, `paxcast backtest` and `paxcast retrain` all go through `prepare`
and `fit`, so what a backtest measures is exactly what training ships: the same
design choice by inner rolling-origin validation, the same guard against the
no-network baseline, the same interval calibration.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paxcast.service.contract import (
    OPSET,
    Calibration,
    ModelCard,
    OnnxFacts,
    Selection,
    TrainingFacts,
    Validation,
    sha256_of,
)
from paxcast.service.covariates import Calendar
from paxcast.service.exceptions import ModelError, UsageError
from paxcast.service.hyperparameters import GlobalTrainConfig, TrainConfig
from paxcast.training.data import Series, read_series
from paxcast.training.designs import prepare
from paxcast.training.export import export_onnx, parity, sample_histories
from paxcast.training.global_pipeline import (
    FittedGlobal,
    check_global_series,
    fit_global,
    make_calendar,
    resolve_global_config,
)
from paxcast.training.registry import register
from paxcast.training.selection import (
    InnerResult,
    choose,
    choose_metric,
    describe,
    inner_backs,
    inner_validate,
    interval_scale,
    pooled_scores,
)
from paxcast.training.train import TrainResult, train

PARITY_TOLERANCE = 1e-4


@dataclass
class Fitted:
    """A trained ensemble, its ONNX file and what its card will say about how it was made."""

    result: TrainResult
    onnx_path: Path
    freq: str
    training: TrainingFacts
    validation: Validation
    selection: Selection
    onnx: OnnxFacts
    intervals: Calibration | None

    @property
    def config(self) -> TrainConfig:
        return self.result.config

    def card(self, name: str, version: str, onnx_sha256: str, data_file: str, data_sha256: str) -> ModelCard:
        """The model card of this fit registered as `name`/`version`."""
        return ModelCard(
            name=name,
            version=version,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            freq=self.freq,
            hyperparameters=self.config,
            training=self.training,
            validation=self.validation,
            selection=self.selection,
            onnx=self.onnx,
            intervals=self.intervals,
            data_file=data_file,
            data_sha256=data_sha256,
            onnx_sha256=onnx_sha256,
        )


def select_design(series: list[Series], designs: list[TrainConfig], show_progress: bool):
    """Inner-validate every design.

    Returns:
        (the winner's config, its inner result, every design's result); the results are
        None/[] when the data is too short for any inner origin.
    """
    results = []
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if show_progress else None
    for k, design in enumerate(designs):
        if log is not None and inner_backs(series, design):  # no line for a design the data is too short to judge
            log(
                f"inner validation {k + 1}/{len(designs)}: window {design.window}, "
                f"transform {design.transform}, augment {design.augment:g}"
            )
        result = inner_validate(series, design, log=log)
        if result is not None:
            results.append(result)
    if not results:
        return designs[0], None, []
    best = choose(results)
    return best.config, best, results


def calibration(best: InnerResult | None, network_on: bool, series: list[Series]) -> Calibration | None:
    """The interval calibration for the card: pooled out-of-sample relative errors per step, relative to
    what `selection.interval_scale` names; count data (zeros, no negatives) keeps its bands at >= 0."""
    if best is None:
        return None
    errors = best.relative_errors if network_on else best.baseline_relative_errors
    scale = interval_scale(series)
    counts = scale != "forecast" and all((s.y[~np.isnan(s.y)] >= 0).all() for s in series)
    return Calibration(
        scale=scale,
        floor=0.0 if counts else None,
        method="split conformal on relative errors from an inner rolling-origin backtest (neighbouring steps pooled)",
        # Overlapping inner forecasts are few independent draws: an exponential tail fitted to
        # their mean keeps high levels from resting on the largest of a handful of calm years.
        tail="exponential",
        inner_origins=best.origins,
        relative_errors=pooled_scores(errors),
        network_on=network_on,
    )


def fit(
    series: list[Series],
    config: TrainConfig,
    workdir: Path,
    show_progress: bool | None = None,
    designs: list[TrainConfig] | None = None,
) -> Fitted:
    """Choose a design by inner validation, train it, export to `workdir/model.onnx`, verify parity, describe it."""
    started = time.perf_counter()
    # A line per stage on stderr unless progress is off (hourly data trains for minutes: a log file or CI
    # must show it is alive); tqdm bars per member on a terminal.
    lines = show_progress is not False
    config, best, results = select_design(series, designs or [config], lines)
    if lines:
        print(
            f"training the chosen design (window {config.window}, transform {config.transform}): "
            f"{config.ensemble} members, at most {config.epochs} epochs each",
            file=sys.stderr,
        )
    result = train(series, config, show_progress=sys.stdout.isatty() if show_progress is None else show_progress)
    # The guard: a network that cannot beat its own baseline on inner validation is switched off.
    network_on = best is None or best.beats_baseline
    if not network_on:
        for member in result.model.members:
            member.head.weight.data.zero_()
            member.head.bias.data.zero_()
    onnx_path = export_onnx(result.model, workdir / "model.onnx", config.window)
    probe = sample_histories(series[0].y, config.window, 256, seed=config.seed)
    error = parity(result.model, onnx_path, probe)
    if not error <= PARITY_TOLERANCE:
        raise ModelError(
            f"onnxruntime and PyTorch disagree by {error:.2e} (relative) after export; nothing was registered"
        )
    return Fitted(
        result=result,
        onnx_path=onnx_path,
        freq=series[0].freq,
        training=TrainingFacts(
            series=len(series),
            rows=int(sum(len(s.y) for s in series)),
            windows=result.n_train,
            validation_windows=result.n_val,
            member_best_epochs=result.member_epochs,
            seconds=round(result.seconds, 2),
            seconds_with_inner_validation=round(time.perf_counter() - started, 2),
        ),
        validation=Validation(
            loss=result.val_loss,
            mape=result.val_mape if np.isfinite(result.val_mape) else None,
            baseline_mape=result.baseline_val_mape if np.isfinite(result.baseline_val_mape) else None,
            baseline="seasonal naive with drift (the network's zero-correction output)",
        ),
        selection=Selection(
            method=(
                f"inner rolling-origin validation: pooled {choose_metric(results).upper()} over every inner forecast "
                "point, percent (MAPE unless an inner actual is zero or negative, then WAPE)"
            ),
            inner_origins=best.origins if best else [],
            candidates=[describe(r) for r in results],
            chosen=describe(best) if best else None,
            network="on" if network_on else "off: it did not beat its no-network baseline on inner validation",
        ),
        onnx=OnnxFacts(opset=OPSET, parity_max_rel_error=error),
        intervals=calibration(best, network_on, series),
    )


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

    A file of many series trains one global network (`global_pipeline`), one series a per-series
    ensemble. `make_current=False` registers without switching CURRENT (retrain switches it itself).
    `calendar` and `holiday_file` (retrain: the champion's) replace the --country/--subdiv/--holidays flags.
    `trainer` (global models only) replaces `train_global`, e.g. `ray_train.RayTrainer`; export and registry stay here.
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
                holiday_file = Path(calendar_flags["holidays"]).name
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
        version = register(out, name, fitted.onnx_path, describe_version, make_current=make_current)
    return version, fitted
