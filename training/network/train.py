"""Train one global forecaster over every series of a file: data, calendar, loop, checkpoint choice, calibration.

Reads top to bottom like `train.py`. The last `origins x horizon` values of each series are
validation: the model never trains on them, the checkpoint kept is the one with the lowest
pooled WAPE on them (step 0, the untrained network, is seasonal naive and a candidate too),
and their out-of-sample errors calibrate the intervals. Missing values (NaN) are never
filled: a training window with a gap in its history is redrawn, a missing target is masked
in the loss, a validation window with a gap in its history is skipped and counted. A series too short
for one training window (window + horizon values before the validation horizons) is skipped too, and
counted, not refused: a station opened last month should not stop the network's training; it is still
forecast once it has `window` values.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from paxcast.service.core.covariates import Calendar
from paxcast.service.core.hyperparameters import GlobalTrainConfig
from paxcast.service.core.intervals import window_scale
from paxcast.training.data import Series
from paxcast.training.metrics import mean_mase, wape
from paxcast.training.network.fit import LOCAL, Fit, Shard, interval_kind, loss_scale, scaled_l1, window_sampler
from paxcast.training.network.model import GlobalForecaster
from paxcast.training.network.windows import ValidationWindows, timeline, validation_windows

# Calibration scores kept per horizon step in the card: evenly spaced order statistics of all of them.
CALIBRATION_SCORES = 256


@dataclass
class GlobalResult:
    model: GlobalForecaster
    config: GlobalTrainConfig
    validation: ValidationWindows
    best_step: int
    val_wape: float  # percent, of the kept checkpoint
    baseline_wape: float  # percent, of the untrained network (seasonal naive)
    val_mase: float  # mean over validation windows, of the kept checkpoint
    baseline_mase: float
    val_loss: float
    relative_errors: list[list[float]]  # |actual - forecast| / window level, per horizon step
    windows_drawn: int
    short_series: int  # series with too few values for one training window (skipped)
    seconds: float
    peak_rss_mb: float
    load_average: float  # 1-minute, when training ended
    # The kept checkpoint's forecast of the validation windows (windows, H): what the scores and the
    # calibration read; an ensemble averages its members' instead of forecasting the windows again.
    validation_forecast: np.ndarray
    log: list[dict] = field(default_factory=list)
    member_steps: list[int] = field(default_factory=list)  # an ensemble's: each member's best step


def train_global(
    series: list[Series],
    config: GlobalTrainConfig,
    calendar: Calendar,
    show_progress: bool | None = None,
    shard: Shard = LOCAL,
) -> GlobalResult:
    """Train, keep the best checkpoint on validation, and measure its out-of-sample errors.

    Progress goes to stderr: a tqdm bar on a terminal, a line per validation check otherwise
    (a log file or CI), nothing with `show_progress=False`.
    """
    started = time.perf_counter()
    bar_on_terminal = show_progress is None and sys.stderr.isatty()
    show_progress = True if show_progress is None else show_progress
    torch.manual_seed(config.seed)
    W, H = config.window, config.horizon

    # Data: everything before the first validation horizon trains; the validation windows judge.
    line = timeline(series, calendar, H, lead=W - config.shortest)
    val = validation_windows(series, line, config)
    held_out = val.origins[-1]
    short = sum(len(s.y) - held_out < config.shortest + H for s in series)  # too short for one training window
    sampler = window_sampler(series, line, config, shard, held_out)
    val_history, val_calendar = torch.from_numpy(val.history), torch.from_numpy(val.calendar)
    val_scale = loss_scale(val_history, config)

    fit = Fit(config, shard)
    model = fit.model

    def evaluate() -> tuple[dict, float, np.ndarray]:
        model.eval()
        with torch.no_grad():
            forecast = model(val_history, val_calendar)
        model.train()
        loss = scaled_l1(forecast, torch.from_numpy(val.target), val_scale, config.eps).item()
        f = forecast.numpy()
        scores = {"wape": wape(val.target, f), "mase": mean_mase(val.target, f, val.history, config.season)}
        return scores, loss, f

    baseline, best_loss, best_forecast = evaluate()
    best, best_step, best_state, log = baseline, 0, snapshot(model), []
    metric, unit = config.metric, "%" if config.metric == "wape" else ""
    bar = None
    if show_progress:
        from tqdm import tqdm

        print(
            f"training a global model: {len(series)} series ({short} too short for a "
            f"training window, skipped), {len(val.history)} validation windows "
            f"({val.skipped} skipped for gaps), seasonal naive validation {metric.upper()} "
            f"{baseline[metric]:.3f}{unit}",
            file=sys.stderr,
            flush=True,
        )
        bar = tqdm(total=config.steps, desc="training", unit="step", file=sys.stderr, disable=not bar_on_terminal)
    for step in range(1, config.steps + 1):
        loss = fit.step(sampler)
        if bar is not None:
            bar.update()
        if step % config.eval_every == 0 or step == config.steps:
            scores, val_loss, forecast = evaluate()
            log.append(
                {
                    "step": step,
                    "loss": round(loss.item(), 5),
                    "val_loss": round(val_loss, 5),
                    "val_wape_pct": round(scores["wape"], 3),
                    "val_mase": round(scores["mase"], 4),
                }
            )
            if scores[metric] < best[metric]:
                best, best_step, best_loss, best_forecast = scores, step, val_loss, forecast
                best_state = snapshot(model)
            status = (
                f"val {metric.upper()} {scores[metric]:.3f}{unit} (best {best[metric]:.3f}{unit} at step {best_step})"
            )
            if bar is not None and bar_on_terminal:
                bar.set_postfix_str(status)
            elif show_progress:
                elapsed = time.perf_counter() - started
                print(f"step {step}/{config.steps}  {status}  {elapsed:.0f}s", file=sys.stderr, flush=True)
            if config.patience_steps is not None and shard.agree(step - best_step >= config.patience_steps):
                if show_progress:
                    print(
                        f"stopped at step {step}: no better validation {metric.upper()} in "
                        f"{config.patience_steps} steps",
                        file=sys.stderr,
                        flush=True,
                    )
                break
    if bar is not None:
        bar.close()
    model.load_state_dict(best_state)
    model.eval()
    errors = calibration_errors(val.target, best_forecast, val.history, config)
    return GlobalResult(
        model=model,
        config=config,
        validation=val,
        best_step=best_step,
        val_wape=best["wape"],
        baseline_wape=baseline["wape"],
        val_mase=best["mase"],
        baseline_mase=baseline["mase"],
        val_loss=best_loss,
        relative_errors=calibration_scores(errors),
        windows_drawn=step * config.batch_size,
        short_series=short,
        seconds=time.perf_counter() - started,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        load_average=os.getloadavg()[0],
        validation_forecast=best_forecast,
        log=log,
    )


def snapshot(model: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def calibration_errors(target: np.ndarray, forecast: np.ndarray, history: np.ndarray, config: GlobalTrainConfig):
    """|actual - forecast| / the window's interval scale (windows, H); NaN for a window with no scale."""
    scale = window_scale(history, interval_kind(config), config.season, config.eps)
    return np.where(scale > config.eps, np.abs(target - forecast) / scale, np.nan)


def calibration_scores(errors: np.ndarray) -> list[list[float]]:
    """Per horizon step, the observed scores of `errors` (windows, H) as at most CALIBRATION_SCORES
    evenly spaced order statistics: the card stays small and the conformal quantile moves by < 1/256."""
    out = []
    for column in errors.T:
        seen = np.sort(column[np.isfinite(column)])
        if not len(seen):  # no observed actual at this step in any window: the step before speaks for it
            seen = np.asarray(out[-1] if out else [0.0])
        if len(seen) > CALIBRATION_SCORES:
            seen = np.quantile(seen, (np.arange(CALIBRATION_SCORES) + 0.5) / CALIBRATION_SCORES)
        out.append([round(float(v), 6) for v in seen])
    return out
