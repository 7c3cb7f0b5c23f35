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
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from paxcast.service.covariates import Calendar
from paxcast.service.hyperparameters import GlobalTrainConfig
from paxcast.service.intervals import window_scale
from paxcast.training.data import Series
from paxcast.training.global_model import GlobalForecaster, WindowSampler
from paxcast.training.global_scores import mean_mase, wape
from paxcast.training.global_windows import Validation, timeline, validation_windows
from paxcast.training.synthetic import mix_smooth
from paxcast.training.train import augment_growth

# Calibration scores kept per horizon step in the card: evenly spaced order statistics of all of them.
CALIBRATION_SCORES = 256


@dataclass(frozen=True)
class Shard:
    """This process's part of a data-parallel run (training/ray_train.py): rank `rank` of `world` trains on
    every `world`-th series by sorted unique_id, draws `batch_size // world` windows a step, and steps the
    model through `wrap` (DDP, which averages the gradients). The default is the whole, local run."""

    rank: int = 0
    world: int = 1
    wrap: Callable[[torch.nn.Module], torch.nn.Module] = lambda model: model

    def mine(self, series: list[Series]) -> list[int]:
        ranked = sorted(range(len(series)), key=lambda i: series[i].id)
        return sorted(ranked[self.rank :: self.world])

    def agree(self, stop: bool) -> bool:
        """True on every worker if any worker wants to stop. DDP averages gradients, not scores: on
        different CPUs two workers' validation scores may differ in the last bits, and a worker that
        left the loop alone would leave the others waiting in their next all-reduce."""
        if self.world == 1:
            return stop
        import torch.distributed as dist

        flag = torch.tensor([1.0 if stop else 0.0])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item() > 0)


LOCAL = Shard()


@dataclass
class GlobalResult:
    model: GlobalForecaster
    config: GlobalTrainConfig
    validation: Validation
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
    log: list[dict] = field(default_factory=list)
    member_steps: list[int] = field(default_factory=list)  # an ensemble's: each member's best step


def scaled_l1(forecast: torch.Tensor, target: torch.Tensor, level: torch.Tensor, eps: float) -> torch.Tensor:
    """Mean |error| / window level over observed targets: every station weighs the same, whatever its size.

    A window whose history is all zeros (level at the floor) has no scale to judge its errors by;
    it is left out rather than allowed to dominate the batch with errors divided by the floor.
    """
    seen = torch.isfinite(target) & (level > eps)
    return ((forecast - torch.nan_to_num(target)).abs() / level)[seen].sum() / seen.sum().clamp_min(1)


def loss_scale(history: torch.Tensor, config: GlobalTrainConfig) -> torch.Tensor:
    """Per window (B, 1), what the loss divides its errors by (NaN padding allowed): the scale the intervals use.

    `metric="wape"` (stations): the window's mean |value|. `metric="mase"` (general models): the window's
    seasonal-naive MAE, MASE's own scale, so a noisy series weighs no more than a smooth one; training on
    the level instead left the network no better than seasonal naive by MASE on tourism validation.
    A window at the `eps` floor has no scale: scaled_l1 leaves it out.
    """
    return torch.from_numpy(window_scale(history.numpy(), interval_kind(config), config.season, config.eps))


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
    mine = shard.mine(series)
    sampler = WindowSampler(
        [series[i].y[: len(series[i].y) - held_out] for i in mine],
        [line.offsets[i] for i in mine],
        line.covariates,
        W,
        H,
        seed=config.seed + shard.rank,
        min_history=config.shortest,
    )
    val_history, val_calendar = torch.from_numpy(val.history), torch.from_numpy(val.calendar)
    val_scale = loss_scale(val_history, config)

    model = GlobalForecaster(config)
    net = shard.wrap(model)  # the model itself locally; under DDP the same parameters, gradients averaged
    if config.weight_decay:
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    else:  # Adam itself, so training without decay is bit for bit what it was
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    # Drawn from only when config.augment or config.synthetic > 0, so training without them is as it was.
    tilts = torch.Generator().manual_seed(config.seed + shard.rank)

    # Off (0): the trained weights themselves, as before the option existed.
    averaged = None
    if config.ema > 0:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True)
    scored = model if averaged is None else averaged.module

    def evaluate() -> tuple[dict, float, np.ndarray]:
        scored.eval()
        with torch.no_grad():
            forecast = scored(val_history, val_calendar)
        scored.train()
        loss = scaled_l1(forecast, torch.from_numpy(val.target), val_scale, config.eps).item()
        f = forecast.numpy()
        scores = {"wape": wape(f, val.target), "mase": mean_mase(f, val.target, val.history, config.season)}
        return scores, loss, f

    baseline, best_loss, best_forecast = evaluate()
    best, best_step, best_state, log = baseline, 0, snapshot(scored), []
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
        history, covariates, target = (torch.from_numpy(a) for a in sampler.sample(config.batch_size // shard.world))
        history, target = augment_growth(history, target, config.season, config.augment, tilts)
        history, target = mix_smooth(history, target, config.synthetic, config.season, tilts)
        loss = scaled_l1(net(history, covariates), target, loss_scale(history, config), config.eps)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
        optimizer.step()
        if averaged is not None:
            averaged.update_parameters(model)
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
                best_state = snapshot(scored)
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
        log=log,
    )


def snapshot(model: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def interval_kind(config: GlobalTrainConfig) -> str:
    """The card's `intervals.scale`: seasonal naive's in-window error for a MASE-trained model, else the level."""
    return "mase" if config.metric == "mase" else "level"


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
