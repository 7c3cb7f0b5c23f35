"""A per-series model from its series: design choice, training, the guard, export, parity, calibration.

`paxcast train`, `paxcast backtest` and `paxcast retrain` all go through `designs.prepare`
and `fit`, so what a backtest measures is exactly what training ships: the same
design choice by inner rolling-origin validation, the same guard against the
no-network baseline, the same interval calibration.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paxcast.service.core.contract import (
    OPSET,
    Calibration,
    ModelCard,
    OnnxFacts,
    Selection,
    TrainingFacts,
    Validation,
)
from paxcast.service.core.exceptions import ModelError
from paxcast.service.core.hyperparameters import TrainConfig
from paxcast.training.card import make_card
from paxcast.training.data import Series
from paxcast.training.export import export_onnx, parity, sample_histories
from paxcast.training.series.selection import (
    InnerResult,
    choose,
    choose_metric,
    describe,
    inner_backs,
    inner_validate,
    interval_scale,
    pooled_scores,
)
from paxcast.training.series.train import TrainResult, train

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

    @property
    def covariates(self) -> None:
        """A per-series graph reads no calendar."""
        return None

    def card(self, name: str, version: str, onnx_sha256: str, data_file: str, data_sha256: str) -> ModelCard:
        """The model card of this fit registered as `name`/`version`."""
        return make_card(self, name, version, onnx_sha256, data_file, data_sha256)


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
    onnx_path = export_onnx(result.model, workdir / "model.onnx", config)
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
